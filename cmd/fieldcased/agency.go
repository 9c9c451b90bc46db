package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// The agency's signing key (trust.AgencyKey) is the root every device
// trusts. Its file is encrypted under a passphrase (age, scrypt) and is
// opened only here, in this process, by the commands that sign statements;
// the server receives the signed statements, never the key.

// envPassphraseFile names a file holding the agency key's passphrase (for
// scripts and tests; a person is asked on the terminal).
const envPassphraseFile = "FIELDCASED_AGENCY_PASSPHRASE_FILE"

var errNoPassphrase = errors.New("no passphrase given for the agency key")

// AgencyCmd manages the agency's signing identity.
type AgencyCmd struct {
	Init   AgencyInitCmd   `cmd:"" help:"Generate the agency's signing identity into a file kept offline; with --data (or --db) install its public key on the server."`
	Show   AgencyShowCmd   `cmd:"" help:"Show the server's agency key and fingerprint."`
	SetKey AgencySetKeyCmd `cmd:"" name:"set-key" help:"Install an agency public key (fcagency1…) on the server."`
	Adopt  AgencyAdoptCmd  `cmd:"" help:"Sign the teams and users the server has that no statement proves (after an upgrade from protocol 1, or a new agency key), keeping their ids."`
}

// AgencyAdoptCmd signs the server's unsigned teams and users as they are.
type AgencyAdoptCmd struct {
	AgencyKeyFlag
}

func (c *AgencyAdoptCmd) Run(a *app) error {
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		d, err := a.directory(conn)
		if err != nil {
			return err
		}
		unsigned := map[string]bool{}
		for _, id := range d.Unsigned {
			unsigned[id] = true
		}
		// Teams first: a user statement needs its team's.
		var teams, users []trust.Signed
		for _, t := range d.Teams {
			if unsigned[t.ID] {
				teams = append(teams, sign(k, trust.Statement{Kind: trust.KindTeam, Team: t.ID, Name: t.Name}))
				fmt.Fprintf(a.stdout, "team %q\n", t.Name)
			}
		}
		for _, u := range d.Users {
			if unsigned[u.ID] {
				users = append(users, sign(k, trust.Statement{Kind: trust.KindUser, User: u.ID, Name: u.Name, Role: u.Role, Team: u.TeamID, Version: 1}))
				fmt.Fprintf(a.stdout, "%s %q\n", u.Role, u.Name)
			}
		}
		if len(teams)+len(users) == 0 {
			fmt.Fprintln(a.stdout, "every team and user is signed already")
			return nil
		}
		for _, batch := range [][]trust.Signed{teams, users} {
			for len(batch) > 0 {
				n := min(len(batch), 100)
				if err := a.addStatements(conn, batch[:n]...); err != nil {
					return err
				}
				batch = batch[n:]
			}
		}
		fmt.Fprintf(a.stderr, "signed %d teams and %d users as they were; their devices enrol again with new codes ('fieldcased enroll-code USER')\n", len(teams), len(users))
		return nil
	})
}

// AgencyKeyFlag is the agency key file of the commands that sign.
type AgencyKeyFlag struct {
	AgencyKey string `name:"agency-key" env:"FIELDCASED_AGENCY_KEY" type:"path" placeholder:"FILE" help:"The agency key file ('fieldcased agency init' wrote it); it is decrypted here and never sent."`
}

// passphraseFromFile reads FIELDCASED_AGENCY_PASSPHRASE_FILE; ok is false
// when it is not set.
func passphraseFromFile() (pass string, ok bool, err error) {
	f := os.Getenv(envPassphraseFile)
	if f == "" {
		return "", false, nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return "", true, cli.WithHint(fmt.Errorf("reading %s: %w", envPassphraseFile, err), "point it at a file holding the passphrase, or unset it to be asked")
	}
	return strings.TrimRight(string(b), "\r\n"), true, nil
}

// openTTY opens the controlling terminal for prompts, so they work even
// when stdin or stdout is redirected.
func openTTY() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_RDWR, 0) }

func promptHidden(tty *os.File, prompt string) (string, error) {
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		line, rerr := bufio.NewReader(tty).ReadString('\n')
		if rerr != nil {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	return string(b), nil
}

func noPassphrase() error {
	return cli.WithHint(errNoPassphrase, "run it in a terminal to be asked, or set "+envPassphraseFile+" to a file holding the passphrase")
}

// minPassphrase is the shortest passphrase an agency key gets.
const minPassphrase = 12

// newAgencyPassphrase is the passphrase of a new key file: from the file
// named by the environment, or asked twice on the terminal.
func newAgencyPassphrase() (string, error) {
	pass, ok, err := passphraseFromFile()
	if err != nil {
		return "", err
	}
	if !ok {
		tty, err := openTTY()
		if err != nil {
			return "", noPassphrase()
		}
		defer tty.Close()
		fmt.Fprintln(tty, "Choose the agency key's passphrase: five or more random words. It is sealed away with the key (docs/OPERATIONS.md).")
		for {
			p1, err := promptHidden(tty, "New passphrase: ")
			if err != nil {
				return "", err
			}
			p2, err := promptHidden(tty, "Repeat passphrase: ")
			if err != nil {
				return "", err
			}
			if p1 == p2 && len([]rune(p1)) >= minPassphrase {
				pass = p1
				break
			}
			if p1 != p2 {
				fmt.Fprintln(tty, "The two passphrases differ; try again.")
			} else {
				fmt.Fprintf(tty, "At least %d characters; try again.\n", minPassphrase)
			}
		}
	}
	if len([]rune(pass)) < minPassphrase {
		return "", cli.WithHint(fmt.Errorf("the agency key's passphrase is shorter than %d characters", minPassphrase), "choose five or more random words")
	}
	return pass, nil
}

// readAgencyKey opens an agency key file, asking for its passphrase (three
// tries on a terminal).
func readAgencyKey(path string) (*trust.AgencyKey, error) {
	if path == "" {
		return nil, cli.WithHint(errors.New("this command signs with the agency key: --agency-key FILE is needed"),
			"pass the file 'fieldcased agency init' wrote (or set FIELDCASED_AGENCY_KEY)")
	}
	file, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, cli.WithHint(fmt.Errorf("agency key file %s does not exist", path), "check --agency-key (or FIELDCASED_AGENCY_KEY): it names the file 'fieldcased agency init' wrote")
	} else if err != nil {
		return nil, fmt.Errorf("reading the agency key: %w", err)
	}
	open := func(pass string) (*trust.AgencyKey, error) {
		k, err := trust.DecryptAgencyKey(file, pass)
		if errors.Is(err, trust.ErrMalformed) {
			return nil, cli.WithHint(fmt.Errorf("%s is not an agency key file", path), "--agency-key names the file 'fieldcased agency init' wrote")
		}
		return k, err
	}
	wrong := func() error {
		return cli.WithHint(trust.ErrWrongPassphrase, "the passphrase is the one chosen at 'fieldcased agency init' (kept sealed with the key)")
	}
	pass, ok, err := passphraseFromFile()
	if err != nil {
		return nil, err
	}
	if ok {
		k, err := open(pass)
		if errors.Is(err, trust.ErrWrongPassphrase) {
			return nil, wrong()
		}
		return k, err
	}
	tty, err := openTTY()
	if err != nil {
		return nil, noPassphrase()
	}
	defer tty.Close()
	for try := 1; ; try++ {
		pass, err := promptHidden(tty, fmt.Sprintf("Passphrase for the agency key %s: ", path))
		if err != nil {
			return nil, err
		}
		k, err := open(pass)
		if !errors.Is(err, trust.ErrWrongPassphrase) {
			return k, err
		}
		if try == 3 {
			return nil, wrong()
		}
		fmt.Fprintln(tty, "Wrong passphrase; try again.")
	}
}

// noAgencyHint is the advice for a server without an agency key.
const noAgencyHint = "install one first: 'fieldcased agency init --out FILE' with --data (or --db), or 'fieldcased agency set-key KEY'"

// serverAgency is the server's agency key, or an error saying there is none.
func serverAgency(ctx context.Context, c *adminConn) (server.AgencyInfo, error) {
	var info server.AgencyInfo
	if err := c.exec(ctx, server.AdminRequest{Op: server.OpAgencyShow}, &info); err != nil {
		return info, adminHint(err)
	}
	if info.Key == "" {
		return info, cli.WithHint(server.ErrNoAgency, noAgencyHint)
	}
	return info, nil
}

// signer opens the agency key file for a server whose agency key is
// info's, refusing the key of another agency.
func signer(info server.AgencyInfo, path string) (*trust.AgencyKey, error) {
	k, err := readAgencyKey(path)
	if err != nil {
		return nil, err
	}
	if trust.FormatAgencyKey(k.Public()) != info.Key {
		return nil, cli.WithHint(fmt.Errorf("the agency key in %s (fingerprint %s) is not this server's (fingerprint %s)",
			path, trust.AgencyFingerprint(k.Public()), info.Fingerprint),
			"use the key file made for this server, or check --data / --db")
	}
	return k, nil
}

// writeNewFile writes b to a new file of mode 0600, never replacing one.
func writeNewFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// AgencyInitCmd generates the agency's signing identity.
type AgencyInitCmd struct {
	Out        string `required:"" type:"path" placeholder:"FILE" help:"File to write the encrypted key to (mode 0600, never overwritten)."`
	WorkFactor int    `name:"work-factor" hidden:"" help:"scrypt work factor (log2 N) of the key file, for tests: 10 to 22."`
}

func (c *AgencyInitCmd) Run(a *app) error {
	if _, err := os.Lstat(c.Out); err == nil {
		return cli.WithHint(fmt.Errorf("%s already exists", c.Out), "an agency key is never overwritten: choose a new file name")
	}
	// With a store named, check first that it can take the key, so no key
	// file is made in vain.
	var conn *adminConn
	if a.storeNamed() {
		var err error
		if conn, err = a.admin(true); err != nil {
			return err
		}
		defer conn.close()
		var info server.AgencyInfo
		if err := a.call(conn, server.AdminRequest{Op: server.OpAgencyShow}, &info); err != nil {
			return err
		}
		if info.Key != "" {
			return cli.WithHint(fmt.Errorf("this server already has an agency key (fingerprint %s)", info.Fingerprint),
				"to replace it (every device must then enrol again): 'fieldcased agency set-key NEWKEY --force'")
		}
	}
	pass, err := newAgencyPassphrase()
	if err != nil {
		return err
	}
	k, err := trust.GenerateAgencyKey()
	if err != nil {
		return err
	}
	var file []byte
	if c.WorkFactor != 0 {
		file, err = k.EncryptWorkFactor(pass, c.WorkFactor)
	} else {
		file, err = k.Encrypt(pass)
	}
	if err != nil {
		return err
	}
	if err := writeNewFile(c.Out, file); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return cli.WithHint(fmt.Errorf("%s already exists", c.Out), "an agency key is never overwritten: choose a new file name")
		}
		return fmt.Errorf("writing %s: %w", c.Out, err)
	}
	pub := trust.FormatAgencyKey(k.Public())
	fmt.Fprintln(a.stdout, pub)
	fmt.Fprintf(a.stdout, "fingerprint %s\n", trust.AgencyFingerprint(k.Public()))
	fmt.Fprintf(a.stderr, "agency key written to %s, encrypted under its passphrase\n"+
		"keep it offline, in two copies, with the passphrase sealed apart (docs/OPERATIONS.md); record the fingerprint\n", c.Out)
	if conn == nil {
		fmt.Fprintln(a.stderr, "install the public key on the server: fieldcased agency set-key "+pub)
		return nil
	}
	if err := a.call(conn, server.AdminRequest{Op: server.OpAgencySet, Key: pub}, nil); err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, "the server now trusts statements signed with this key")
	return nil
}

// AgencyShowCmd shows the server's agency key.
type AgencyShowCmd struct{}

func (c *AgencyShowCmd) Run(a *app) error {
	var info server.AgencyInfo
	if err := a.do(false, server.AdminRequest{Op: server.OpAgencyShow}, &info); err != nil {
		return err
	}
	if info.Key == "" {
		return cli.WithHint(server.ErrNoAgency, noAgencyHint)
	}
	fmt.Fprintln(a.stdout, info.Key)
	fmt.Fprintf(a.stdout, "fingerprint %s\n", info.Fingerprint)
	fmt.Fprintf(a.stdout, "%d signed statements, %d not accepted, roster version %d\n", info.Statements, info.Problems, info.RosterVersion)
	return nil
}

// AgencySetKeyCmd installs an agency public key.
type AgencySetKeyCmd struct {
	Key   string `arg:"" help:"The agency public key (fcagency1…) 'fieldcased agency init' printed, or - to read it from standard input."`
	Force bool   `help:"Replace a different key: every statement of the old key stops counting and every device must enrol again."`
}

func (c *AgencySetKeyCmd) Run(a *app) error {
	key := c.Key
	if key == "-" {
		b, err := io.ReadAll(io.LimitReader(a.stdin, 4096))
		if err != nil {
			return err
		}
		key = strings.TrimSpace(string(b))
	}
	pub, err := trust.ParseAgencyKey(key)
	if err != nil {
		return cli.WithHint(errors.New("not an agency public key"), "use the fcagency1… line 'fieldcased agency init' printed")
	}
	conn, err := a.admin(a.storeNamed())
	if err != nil {
		return err
	}
	defer conn.close()
	var before server.AgencyInfo
	if err := a.call(conn, server.AdminRequest{Op: server.OpAgencyShow}, &before); err != nil {
		return err
	}
	var info server.AgencyInfo
	if err := conn.exec(a.ctx, server.AdminRequest{Op: server.OpAgencySet, Key: key, Force: c.Force}, &info); err != nil {
		if errors.Is(err, server.ErrAgencyMismatch) {
			return cli.WithHint(err, "replacing the agency key makes every device enrol again; if that is meant, add --force")
		}
		return adminHint(err)
	}
	fmt.Fprintf(a.stdout, "agency key %s (fingerprint %s)\n", info.Key, trust.AgencyFingerprint(pub))
	if before.Key != "" && before.Key != info.Key {
		fmt.Fprintf(a.stderr, "warning: the agency key %s was replaced. Every device must enrol again with a new code: its token is revoked,\n"+
			"and no statement signed by the old key counts any more. Sign the teams and users again with the new key first.\n", before.Fingerprint)
	}
	return nil
}
