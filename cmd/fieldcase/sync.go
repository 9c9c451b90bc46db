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
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
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
		return cli.WithHint(a.l.Error("sync.already_enrolled", "Server", cfg.Server), a.l.T("sync.already_enrolled_hint"))
	}
	name := c.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	ctx, cancel := context.WithTimeout(a.ctx, 2*time.Minute)
	defer cancel()
	resp, err := client.EnrollVault(ctx, v, client.Config{Server: c.Server, Fingerprint: c.Fingerprint, RetryMax: 2}, c.Code, name)
	if err != nil {
		return c.explain(ctx, a.l, err)
	}
	id, _ := v.Identity()
	u := resp.User
	fprintf(a.stdout, "%s\n", a.l.T("sync.enrolled", "Name", u.Name, "Role", u.Role, "Team", resp.TeamName, "Server", c.Server))
	fprintf(a.stdout, "%s\n", a.l.T("sync.agency_pinned", "Agency", resp.Agency))
	fprintf(a.stdout, "%s\n", a.l.T("sync.this_laptop", "Device", v.DeviceID(), "Fingerprint", crypto.Fingerprint(id.Recipient())))
	printTrustChanges(a, resp.Changes, true)
	if resp.Extended > 0 {
		fprintf(a.stdout, "%s\n", a.l.N("sync.extended", resp.Extended))
	}
	if r := v.Roster(); r != nil && r.Recovery == "" {
		fprintf(a.stderr, "%s\n", a.l.T("sync.no_recovery"))
	}
	fprintf(a.stdout, "%s\n", a.l.N("sync.enrol_waiting", v.OutboxLen()))
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
			fprintf(a.stdout, "%s\n", a.l.T("sync.my_devices", "Devices", mine))
		}
	} else {
		for _, d := range c.NewDevices {
			if d.Mine {
				fprintf(a.stdout, "%s\n", a.l.T("sync.new_device_mine", "Device", strconv.Quote(d.Name), "Fingerprint", d.Fingerprint))
			} else {
				fprintf(a.stdout, "%s\n", a.l.T("sync.new_device", "User", d.UserName, "Role", d.Role,
					"Device", strconv.Quote(d.Name), "Fingerprint", d.Fingerprint))
			}
		}
		for _, d := range c.Revoked {
			fprintf(a.stdout, "%s\n", a.l.T("sync.revoked", "User", d.UserName, "Device", strconv.Quote(d.Name), "Fingerprint", d.Fingerprint))
		}
		if c.NewRecovery != "" {
			fprintf(a.stdout, "%s\n", a.l.T("sync.new_recovery", "Recovery", c.NewRecovery))
		}
	}
	for _, p := range c.Problems {
		fprintf(a.stderr, "%s\n", a.l.T("sync.unproven", "Kind", p.Kind, "What", p.What))
	}
}

// explain turns a failed enrolment into what happened, in the user's terms.
// Nothing is stored before the server has answered, so a failure leaves the
// vault as it was, and the code may be presented again: each hint says so
// (the catalogue repeats that sentence in each, so that a translator has
// whole sentences).
func (c *enrollCmd) explain(ctx context.Context, l *i18n.Locale, err error) error {
	switch {
	case errors.Is(err, client.ErrFingerprint) && c.Fingerprint == "":
		// No pin was given, so the system's certificate authorities were
		// asked, and they do not vouch for the agency's (usually
		// self-signed) certificate. Show its fingerprint, never pin it.
		fp, ferr := serverFingerprint(ctx, c.Server)
		if ferr != nil {
			return cli.WithHint(l.Error("sync.untrusted_cert"), l.T("sync.untrusted_cert_hint"))
		}
		return cli.WithHint(l.Error("sync.untrusted_cert_fp", "Fingerprint", fp), l.T("sync.untrusted_cert_fp_hint", "Fingerprint", fp))
	case errors.Is(err, client.ErrFingerprint):
		return cli.WithHint(err, l.T("sync.wrong_fingerprint_hint"))
	case errors.Is(err, client.ErrServerTrouble):
		// It answered: the address is right, the server is not well.
		return cli.WithHint(err, l.T("sync.enrol_server_trouble_hint"))
	case errors.Is(err, client.ErrOffline):
		detail := strings.TrimPrefix(err.Error(), client.ErrOffline.Error()+": ")
		return cli.WithHint(l.Error("sync.enrol_offline", "Server", c.Server, "Detail", detail), l.T("sync.enrol_offline_hint"))
	}
	return syncError(l, err, 0)
}

// serverFingerprint connects to the server and returns the SHA-256 of the
// certificate it presents, in hex as fieldcased prints it. It is shown to
// the user to compare, never trusted.
func serverFingerprint(ctx context.Context, server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("server address %q is not a URL", server) // i18n: never shown; explain gives a hint without the fingerprint
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
		return "", errors.New("the server presented no certificate") // i18n: never shown, as above
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
	s, err := newSyncer(a.l, v)
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
		fmt.Fprint(a.stderr, "\r\033[K") // i18n: a terminal control sequence (erase the line), not text
	}
	if rs, _ := v.Rejections(); sum.Rejected > 0 {
		for _, r := range rs[:min(sum.Rejected, len(rs))] {
			fprintf(a.stderr, "%s\n", a.l.T("sync.refused", "Kind", r.Kind, "Case", r.CaseID, "Reason", r.Reason))
		}
	}
	// A finding against the server's log is told after the round's
	// summary: the round still moved what it could.
	if err != nil && !errors.Is(err, client.ErrLogAlarm) {
		return syncError(a.l, err, v.OutboxLen())
	}
	alarm := err
	printTrustChanges(a, sum.Trust, false)
	if sum.Restored > 0 {
		fprintf(a.stderr, "%s\n", a.l.N("sync.restored", sum.Restored))
	}
	if sum.Rotated > 0 {
		fprintf(a.stdout, "%s\n", a.l.N("sync.rotated", sum.Rotated))
	}
	for _, d := range sum.Destroyed {
		fprintf(a.stdout, "%s\n", a.l.T("sync.destroyed", "Case", d.CaseID, "Version", d.PolicyVersion, "Approvers", approvedBy(a.l, d.ApprovedBy)))
		if d.Unsynced > 0 || d.Drafts > 0 {
			fprintf(a.stderr, "%s\n", a.l.T("sync.destroyed_unsynced", "Changes", d.Unsynced, "Drafts", d.Drafts))
		}
	}
	// The summary's numbers are passed as they are, not grouped: scripts
	// read this line, and it stays as fieldcase has always printed it.
	fprintf(a.stdout, "%s\n", a.l.T("sync.summary", "Pushed", sum.Pushed, "Pulled", sum.Pulled, "Refused", sum.Rejected,
		"Keyrings", sum.Keyrings, "Waiting", v.OutboxLen(), "Took", sum.Duration.Round(time.Millisecond).String()))
	if q, _ := v.Quarantine(); len(q) > 0 {
		fprintf(a.stderr, "%s\n", a.l.N("sync.quarantined", len(q), "Summary", store.QuarantineSummary(q)))
	}
	if alarm != nil {
		return syncError(a.l, alarm, v.OutboxLen())
	}
	return nil
}

// approvedBy is the approvers as a list in running text: "a and b" (the
// ApprovedBy list is as fieldcase always printed it: "a and b and c").
func approvedBy(l *i18n.Locale, names []string) string {
	if len(names) == 0 {
		return ""
	}
	s := names[0]
	for _, n := range names[1:] {
		s = l.T("sync.and", "List", s, "Name", n)
	}
	return s
}

// newSyncer builds a syncer for an unlocked, enrolled vault; l speaks its
// hint.
func newSyncer(l *i18n.Locale, v *store.Vault) (*client.Syncer, error) {
	s, err := client.NewVaultSyncer(v, nil)
	if errors.Is(err, store.ErrNotEnrolled) {
		return nil, cli.WithHint(err, l.T("sync.not_enrolled_hint"))
	}
	return s, err
}

// syncError adds what the user should know to a failed sync, in l's
// language (the error itself comes from the sync client, in English).
func syncError(l *i18n.Locale, err error, waiting int) error {
	switch {
	case errors.Is(err, client.ErrLogAlarm):
		return cli.WithHint(err, l.T("sync.log_alarm_hint"))
	case errors.Is(err, client.ErrRevoked):
		return cli.WithHint(err, l.T("sync.revoked_hint"))
	case errors.Is(err, client.ErrServerTrouble):
		return cli.WithHint(err, l.N("sync.server_trouble_hint", waiting))
	case errors.Is(err, client.ErrOffline):
		return cli.WithHint(err, l.N("sync.offline_hint", waiting))
	case errors.Is(err, client.ErrFingerprint):
		return cli.WithHint(err, l.T("sync.fingerprint_hint"))
	case errors.Is(err, client.ErrVersion):
		return cli.WithHint(err, l.T("sync.version_hint"))
	case errors.Is(err, client.ErrInsecure):
		return cli.WithHint(err, l.T("sync.insecure_hint"))
	case errors.Is(err, client.ErrWrongAgency):
		return cli.WithHint(err, l.T("sync.wrong_agency_hint"))
	case errors.Is(err, client.ErrNotTrusted):
		return cli.WithHint(err, l.T("sync.not_trusted_hint"))
	case errors.Is(err, store.ErrAgencyMismatch):
		return cli.WithHint(err, l.T("sync.agency_mismatch_hint"))
	case errors.Is(err, store.ErrNoAgency):
		return cli.WithHint(err, l.T("sync.no_agency_hint"))
	case errors.Is(err, trust.ErrMalformed):
		return cli.WithHint(err, l.T("sync.malformed_code_hint"))
	case errors.Is(err, store.ErrKeyringExpired):
		return cli.WithHint(err, l.T("sync.keyring_expired_hint"))
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case protocol.CodeBadCode:
			return cli.WithHint(err, l.T("sync.bad_code_hint"))
		case protocol.CodeRateLimited:
			return cli.WithHint(err, l.T("sync.rate_limited_hint"))
		}
	}
	return err
}
