package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

type enrollCmd struct {
	Server      string `required:"" help:"Case server address, e.g. https://cases.agency.example:8443." placeholder:"URL"`
	Code        string `required:"" help:"One-time enrolment code from your agency's IT."`
	Fingerprint string `help:"The server certificate's SHA-256 fingerprint, as fieldcased printed it (pinned from now on)."`
	Name        string `help:"A name for this device (default: the host name)."`
}

func (c *enrollCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase enroll")
	if err != nil {
		return err
	}
	defer v.Close()
	// A vault enrolled before agencies signed their rosters pins no agency
	// key: it enrols again (its work stays and is sent after).
	if v.Enrolled() && v.Agency() != nil {
		cfg, _ := v.SyncConfig()
		return cli.WithHint(fmt.Errorf("this vault is already enrolled with %s", cfg.Server), "a vault syncs with one server; make a new vault to enrol elsewhere")
	}
	name := c.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
	defer cancel()
	resp, err := client.EnrollVault(ctx, v, client.Config{Server: c.Server, Fingerprint: c.Fingerprint, RetryMax: 2}, c.Code, name)
	if err != nil {
		return c.explain(ctx, err)
	}
	id, _ := v.Identity()
	u := resp.User
	fprintf(a.stdout, "enrolled as %s (%s, team %s) with %s\n", u.Name, u.Role, resp.TeamName, c.Server)
	fprintf(a.stdout, "agency key %s: pinned; this laptop trusts only what it signs\n", resp.Agency)
	fprintf(a.stdout, "this laptop: device %s, fingerprint %s\n", v.DeviceID(), crypto.Fingerprint(id.Recipient()))
	printTrustChanges(a, resp.Changes, true)
	if resp.Extended > 0 {
		fprintf(a.stdout, "%d existing cases now shared with your team as the agency's roster names it\n", resp.Extended)
	}
	if r := v.Roster(); r != nil && r.Recovery == "" {
		fprintf(a.stderr, "warning: the agency has not signed a recovery key yet\n")
	}
	fprintf(a.stdout, "%d changes waiting; run 'fieldcase sync' (the TUI syncs by itself)\n", v.OutboxLen())
	return nil
}

// printTrustChanges tells a person who receives case keys now that did not
// before, with fingerprints to compare, and what the roster refused.
func printTrustChanges(a *app, c store.TrustChanges, enrolling bool) {
	if enrolling {
		// At enrolment every device is new: list only the user's own other
		// devices and problems; the rest is 'fieldcase roster'.
		mine := 0
		for _, d := range c.NewDevices {
			if d.Mine {
				mine++
			}
		}
		if mine > 1 {
			fprintf(a.stdout, "your devices on the agency's roster: %d\n", mine)
		}
	} else {
		for _, d := range c.NewDevices {
			who := d.UserName + " (" + d.Role + ")"
			if d.Mine {
				who = "your own"
			}
			fprintf(a.stdout, "new device of %s: %q, fingerprint %s, signed into the agency's roster\n", who, d.Name, d.Fingerprint)
		}
		for _, d := range c.Revoked {
			fprintf(a.stdout, "revoked: %s's device %q (fingerprint %s): it receives no new case keys\n", d.UserName, d.Name, d.Fingerprint)
		}
		if c.NewRecovery != "" {
			fprintf(a.stdout, "the agency's recovery key is now %s: every case key is wrapped to it\n", c.NewRecovery)
		}
	}
	for _, p := range c.Problems {
		fprintf(a.stderr, "warning: the server offered a %s the agency's roster does not prove: %s\n", p.Kind, p.What)
	}
}

// unchanged is what a failed enrolment leaves as it was.
const unchanged = "nothing was changed on this laptop and the enrolment code is still valid"

// explain turns a failed enrolment into what happened, in the user's terms.
// Nothing is stored before the server has answered, so a failure leaves the
// vault as it was, and the code may be presented again.
func (c *enrollCmd) explain(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, client.ErrFingerprint) && c.Fingerprint == "":
		// No pin was given, so the system's certificate authorities were
		// asked, and they do not vouch for the agency's (usually
		// self-signed) certificate. Show its fingerprint, never pin it.
		fp, ferr := serverFingerprint(ctx, c.Server)
		if ferr != nil {
			return cli.WithHint(errors.New("the case server's certificate is not trusted by this computer"),
				"ask your agency's IT for the server's certificate fingerprint and give it with --fingerprint; "+unchanged)
		}
		return cli.WithHint(fmt.Errorf("the case server's certificate is not trusted by this computer; its fingerprint (sha256) is %s", fp),
			"compare it with the fingerprint your agency's IT gave you; only if they are the same, run the command again with --fingerprint "+fp)
	case errors.Is(err, client.ErrFingerprint):
		return cli.WithHint(err, "this is not the server your agency's IT told you about, or the fingerprint was mistyped: check it with them before you enrol; "+unchanged)
	case errors.Is(err, client.ErrServerTrouble):
		// It answered: the address is right, the server is not well.
		return cli.WithHint(err, unchanged+"; run the same command again in a few minutes, and tell IT if it goes on")
	case errors.Is(err, client.ErrOffline):
		detail := strings.TrimPrefix(err.Error(), client.ErrOffline.Error()+": ")
		return cli.WithHint(fmt.Errorf("could not reach the case server at %s: %s", c.Server, detail),
			unchanged+"; check the address and the network, then run the same command again")
	}
	return syncError(err, 0)
}

// serverFingerprint connects to the server and returns the SHA-256 of the
// certificate it presents, in hex as fieldcased prints it. It is shown to
// the user to compare, never trusted.
func serverFingerprint(ctx context.Context, server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("server address %q is not a URL", server)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} // only to read the certificate
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", errors.New("the server presented no certificate")
	}
	sum := sha256.Sum256(certs[0].Raw)
	return hex.EncodeToString(sum[:]), nil
}

type syncCmd struct {
	Timeout time.Duration `default:"10m" help:"Give up after this long."`
}

func (c *syncCmd) Run(a *app) error {
	v, err := a.unlock("fieldcase sync")
	if err != nil {
		return err
	}
	defer v.Close()
	s, err := newSyncer(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(a.ctx, c.Timeout)
	defer cancel()
	var progress func(client.Progress)
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = func(p client.Progress) {
			if p.Total > 0 {
				fmt.Fprintf(f, "\r%s %d/%d   ", p.Phase, p.Done, p.Total)
			} else {
				fmt.Fprintf(f, "\r%s %d   ", p.Phase, p.Done)
			}
		}
	}
	sum, err := s.Sync(ctx, progress)
	if progress != nil {
		fmt.Fprint(a.stderr, "\r\033[K")
	}
	if rs, _ := v.Rejections(); sum.Rejected > 0 {
		for _, r := range rs[:min(sum.Rejected, len(rs))] {
			fprintf(a.stderr, "fieldcase: the server refused a %s of case %s: %s\n", r.Kind, r.CaseID, r.Reason)
		}
	}
	// A finding against the server's log is told after the round's
	// summary: the round still moved what it could.
	if err != nil && !errors.Is(err, client.ErrLogAlarm) {
		return syncError(err, v.OutboxLen())
	}
	alarm := err
	printTrustChanges(a, sum.Trust, false)
	if sum.Restored > 0 {
		fprintf(a.stderr, "warning: this vault was behind the server (restored from a backup?): %d of its own changes were taken back\n", sum.Restored)
	}
	if sum.Rotated > 0 {
		fprintf(a.stdout, "%d cases got a new key after a device was revoked\n", sum.Rotated)
	}
	for _, d := range sum.Destroyed {
		fprintf(a.stdout, "case %s was destroyed under the retention policy (v%d, approved by %s): removed from this laptop ('fieldcase retention gone')\n",
			d.CaseID, d.PolicyVersion, strings.Join(d.ApprovedBy, " and "))
		if d.Unsynced > 0 || d.Drafts > 0 {
			fprintf(a.stderr, "warning: %d changes and %d drafts of yours in it, not yet on the server, were destroyed with it\n", d.Unsynced, d.Drafts)
		}
	}
	fprintf(a.stdout, "synced: pushed %d, pulled %d, %d refused, %d keyrings updated, %d waiting, in %s\n",
		sum.Pushed, sum.Pulled, sum.Rejected, sum.Keyrings, v.OutboxLen(), sum.Duration.Round(time.Millisecond))
	if q, _ := v.Quarantine(); len(q) > 0 {
		fprintf(a.stderr, "warning: %d records from the server are quarantined (%s): run 'fieldcase doctor'\n", len(q), store.QuarantineSummary(q))
	}
	if alarm != nil {
		return syncError(alarm, v.OutboxLen())
	}
	return nil
}

// newSyncer builds a syncer for an unlocked, enrolled vault.
func newSyncer(v *store.Vault) (*client.Syncer, error) {
	s, err := client.NewVaultSyncer(v, nil)
	if errors.Is(err, store.ErrNotEnrolled) {
		return nil, cli.WithHint(err, "enrol with 'fieldcase enroll --server URL --code CODE' (your agency's IT gives you the code)")
	}
	return s, err
}

// syncError adds what the user should know to a failed sync.
func syncError(err error, waiting int) error {
	switch {
	case errors.Is(err, client.ErrLogAlarm):
		return cli.WithHint(err, "what could be synced was, each record checked on its own merits; 'fieldcase doctor' keeps what the log showed (give 'fieldcase doctor --json' to IT)")
	case errors.Is(err, client.ErrRevoked):
		return cli.WithHint(err, "contact your agency's IT; what is on this laptop stays readable with your passphrase")
	case errors.Is(err, client.ErrServerTrouble):
		return cli.WithHint(err, fmt.Sprintf("your work is safe on this laptop (%d changes waiting); sync again in a few minutes, and tell IT if it goes on", waiting))
	case errors.Is(err, client.ErrOffline):
		return cli.WithHint(err, fmt.Sprintf("your work is safe on this laptop (%d changes waiting); sync again when online", waiting))
	case errors.Is(err, client.ErrFingerprint):
		return cli.WithHint(err, "check the fingerprint fieldcased printed when it started; do not sync with an unknown server")
	case errors.Is(err, client.ErrVersion):
		return cli.WithHint(err, "update fieldcase (or ask IT to update the server)")
	case errors.Is(err, client.ErrInsecure):
		return cli.WithHint(err, "use the https:// address of the case server")
	case errors.Is(err, client.ErrWrongAgency):
		return cli.WithHint(err, "check the code letter by letter; if it is right, this is not your agency's server: do not enrol, call IT")
	case errors.Is(err, client.ErrNotTrusted):
		return cli.WithHint(err, "the server answered, but its agency's signatures do not enrol this laptop: call IT; nothing was changed here")
	case errors.Is(err, store.ErrAgencyMismatch):
		return cli.WithHint(err, "not syncing: the agency's key never changes for a laptop; call IT before doing anything else")
	case errors.Is(err, store.ErrNoAgency):
		return cli.WithHint(err, "ask IT for a new enrolment code and run 'fieldcase enroll' again; your work stays on this laptop and is sent after")
	case errors.Is(err, trust.ErrMalformed):
		return cli.WithHint(err, "an enrolment code is 32 letters and digits in groups of four, as IT gave it to you")
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeBadCode:
			return cli.WithHint(err, "enrolment codes are single-use and expire; ask IT for a new one")
		case protocol.CodeRateLimited:
			return cli.WithHint(err, "too many attempts; wait a minute and try again")
		}
	}
	return err
}
