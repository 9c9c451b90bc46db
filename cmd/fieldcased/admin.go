package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
)

// adminConn runs admin operations on a running server through its admin
// socket or, when none runs, directly on the store.
type adminConn struct {
	exec  func(ctx context.Context, req server.AdminRequest, result any) error
	close func() error
}

// admin connects to the data directory's server, or opens its store; it
// never creates one ('init' and 'serve' do). With a PostgreSQL store (--db)
// it always works on the database directly: every server instance sees the
// change at once.
func (a *app) admin() (*adminConn, error) {
	if a.cli.DB != "" {
		st, err := openPostgres(a.ctx, a.cli.DB, pgstore.Options{MaxConns: 2})
		if err != nil {
			return nil, err
		}
		return storeConn(st), nil
	}
	dir, err := a.dataDir()
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, server.AdminSocketName)
	c, err := server.DialAdmin(a.ctx, sock)
	if err == nil {
		return &adminConn{exec: c.Exec, close: func() error { return nil }}, nil
	}
	if !errors.Is(err, server.ErrNoServer) {
		return nil, cli.WithHint(err, "run fieldcased as the user that runs the server (the socket is mode 0600)")
	}
	path := filepath.Join(dir, boltstore.FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, cli.WithHint(fmt.Errorf("no fieldcased store in %s", dir),
			"check --data or FIELDCASED_DATA; to start a new one, run 'fieldcased init --data "+dir+"'")
	}
	st, err := boltstore.Open(path, boltstore.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		return nil, storeError(dir, err)
	}
	return storeConn(st), nil
}

// storeConn administers a store directly.
func storeConn(st server.Store) *adminConn {
	adm := server.NewAdmin(st)
	exec := func(ctx context.Context, req server.AdminRequest, result any) error {
		res, err := adm.Exec(ctx, req)
		if err != nil || result == nil {
			return err
		}
		// The same JSON as over the socket, so both paths print alike.
		raw, err := json.Marshal(res)
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, result)
	}
	return &adminConn{exec: exec, close: st.Close}
}

// storeError explains a store that would not open.
func storeError(dir string, err error) error {
	switch {
	case errors.Is(err, server.ErrLocked):
		return cli.WithHint(fmt.Errorf("the store in %s is locked by another process, but no server answers on its admin socket", dir),
			"a fieldcased may be starting, stuck or not yet listening; check with 'ps', stop it if it hangs, and try again")
	case errors.Is(err, boltstore.ErrNotStore):
		return cli.WithHint(err, "check --data or FIELDCASED_DATA")
	}
	return err
}

// do runs one operation and closes the connection.
func (a *app) do(req server.AdminRequest, result any) error {
	conn, err := a.admin()
	if err != nil {
		return err
	}
	err = conn.exec(a.ctx, req, result)
	if cerr := conn.close(); err == nil {
		err = cerr
	}
	return adminHint(err)
}

func adminHint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, server.ErrExists):
		return cli.WithHint(err, "names and ids are unique: pick another")
	case errors.Is(err, server.ErrNotFound) && strings.HasPrefix(err.Error(), "team"):
		return cli.WithHint(err, "add it first with 'fieldcased team add NAME'")
	case errors.Is(err, server.ErrNotFound) && strings.HasPrefix(err.Error(), "user"):
		return cli.WithHint(err, "add it first with 'fieldcased user add NAME --role ROLE --team TEAM'")
	case errors.Is(err, server.ErrNotFound) && strings.HasPrefix(err.Error(), "device"):
		return cli.WithHint(err, "'fieldcased device list' shows the device ids")
	}
	return err
}

// InitCmd creates a new, empty store: the one command besides serve that
// does, so a mistyped --data is an error, not a second store.
type InitCmd struct{}

func (c *InitCmd) Run(a *app) error {
	if a.cli.DB != "" {
		st, err := openPostgres(a.ctx, a.cli.DB, pgstore.Options{MaxConns: 2})
		if err != nil {
			return err
		}
		st.Close()
		fmt.Fprintf(a.stdout, "the database is ready; next: fieldcased team add NAME\n")
		return nil
	}
	dir, err := a.dataDir()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, boltstore.FileName)
	if _, err := os.Stat(path); err == nil {
		return cli.WithHint(fmt.Errorf("%s already has a store", dir), "administer it with 'fieldcased team add', 'user add', … --data "+dir)
	}
	st, err := boltstore.Open(path, boltstore.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		return storeError(dir, err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "created an empty store in %s\nnext: fieldcased team add NAME --data %s\n", dir, dir)
	return nil
}

// TeamCmd manages teams.
type TeamCmd struct {
	Add TeamAddCmd `cmd:"" help:"Add a team."`
}

// TeamAddCmd adds a team.
type TeamAddCmd struct {
	Name string `arg:"" help:"Team name."`
}

func (c *TeamAddCmd) Run(a *app) error {
	var t server.Team
	if err := a.do(server.AdminRequest{Op: server.OpTeamAdd, Name: c.Name}, &t); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "added team %q\n", t.Name)
	return nil
}

// UserCmd manages users.
type UserCmd struct {
	Add UserAddCmd `cmd:"" help:"Add a user."`
}

// UserAddCmd adds a user.
type UserAddCmd struct {
	Name string `arg:"" help:"User name (unique)."`
	Role string `required:"" enum:"caseworker,supervisor,typist,admin" help:"caseworker, supervisor, typist or admin."`
	Team string `help:"The user's team (every role but admin needs one)."`
}

func (c *UserAddCmd) Run(a *app) error {
	var u server.User
	err := a.do(server.AdminRequest{Op: server.OpUserAdd, Name: c.Name, Role: c.Role, Team: c.Team}, &u)
	if err != nil {
		return err
	}
	if c.Team != "" {
		fmt.Fprintf(a.stdout, "added %s %q to team %q\n", u.Role, u.Name, c.Team)
	} else {
		fmt.Fprintf(a.stdout, "added %s %q\n", u.Role, u.Name)
	}
	return nil
}

// EnrollCodeCmd makes a one-time enrolment code.
type EnrollCodeCmd struct {
	User string        `arg:"" help:"The user whose new device will enrol."`
	TTL  time.Duration `name:"ttl" default:"24h" help:"How long the code stays valid."`
}

func (c *EnrollCodeCmd) Run(a *app) error {
	if c.TTL < time.Minute || c.TTL > server.MaxEnrollTTL {
		return cli.WithHint(fmt.Errorf("--ttl %s is out of range", c.TTL), fmt.Sprintf("use a lifetime from 1m to %s", server.MaxEnrollTTL))
	}
	var info server.EnrollCodeInfo
	req := server.AdminRequest{Op: server.OpEnrollCode, User: c.User, TTLSeconds: int64(c.TTL / time.Second)}
	if err := a.do(req, &info); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, info.Code)
	fmt.Fprintf(a.stderr, "one-time code for %s, valid until %s; give it to them in person or by phone\n",
		info.User, info.Expires.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

// DeviceCmd lists and revokes devices.
type DeviceCmd struct {
	List   DeviceListCmd   `cmd:"" help:"List devices."`
	Revoke DeviceRevokeCmd `cmd:"" help:"Revoke a device (a lost or retired laptop)."`
}

// DeviceListCmd lists devices.
type DeviceListCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *DeviceListCmd) Run(a *app) error {
	var devices []server.DeviceInfo
	if err := a.do(server.AdminRequest{Op: server.OpDeviceList}, &devices); err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if devices == nil {
			devices = []server.DeviceInfo{}
		}
		return enc.Encode(devices)
	}
	if len(devices) == 0 {
		fmt.Fprintln(a.stderr, "no devices enrolled: make a code with 'fieldcased enroll-code USER'")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tNAME\tENROLLED\tLAST SEEN\tLAST SYNC\tREVOKED")
	for _, d := range devices {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.User, d.Name, when(d.Enrolled), when(d.LastSeen), when(d.LastSync), when(d.Revoked))
	}
	return tw.Flush()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// DeviceRevokeCmd revokes a device.
type DeviceRevokeCmd struct {
	ID string `arg:"" help:"Device id (see 'device list')."`
}

func (c *DeviceRevokeCmd) Run(a *app) error {
	var d server.DeviceInfo
	if err := a.do(server.AdminRequest{Op: server.OpDeviceRevoke, ID: c.ID}, &d); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "revoked device %s (%s of %s)\n", d.ID, d.Name, d.User)
	fmt.Fprintln(a.stderr, "its next request is refused; start new key epochs for its cases (see the runbook)")
	return nil
}

// BackupCmd writes a snapshot.
type BackupCmd struct {
	Out string `required:"" type:"path" help:"File to write (must not exist)."`
}

func (c *BackupCmd) Run(a *app) error {
	out, err := filepath.Abs(c.Out)
	if err != nil {
		return err
	}
	if err := a.do(server.AdminRequest{Op: server.OpBackup, Path: out}, nil); err != nil {
		if errors.Is(err, server.ErrExists) {
			return cli.WithHint(fmt.Errorf("%s already exists", out), "backups never overwrite: choose a new file name")
		}
		return err
	}
	fmt.Fprintf(a.stdout, "backup written to %s\n", out)
	return nil
}

// RestoreCmd puts a backup in place.
type RestoreCmd struct {
	From string `required:"" type:"existingfile" help:"Backup file written by 'fieldcased backup'."`
}

func (c *RestoreCmd) Run(a *app) error {
	if a.cli.DB != "" {
		return restorePostgres(a, c.From)
	}
	dir, err := a.dataDir()
	if err != nil {
		return err
	}
	if cl, err := server.DialAdmin(a.ctx, filepath.Join(dir, server.AdminSocketName)); err == nil && cl != nil {
		return cli.WithHint(fmt.Errorf("a server is running on %s", dir), "restore into a new data directory, or stop the server first")
	}
	to := filepath.Join(dir, boltstore.FileName)
	if err := boltstore.Restore(c.From, to); err != nil {
		if errors.Is(err, server.ErrExists) {
			return cli.WithHint(fmt.Errorf("%s already has a store", dir), "restore into an empty data directory")
		}
		return storeError(dir, err)
	}
	fmt.Fprintf(a.stdout, "restored %s into %s\n", c.From, dir)
	fmt.Fprintln(a.stderr, "devices will re-pull from the start (410 Gone) and re-push what the backup lacks")
	return nil
}

// RecoveryCmd manages the agency recovery identity.
type RecoveryCmd struct {
	New RecoveryNewCmd `cmd:"" help:"Generate the agency recovery identity into a file kept offline."`
	Set RecoverySetCmd `cmd:"" help:"Set the recovery recipient that every new case key is wrapped to."`
}

// RecoveryNewCmd generates a recovery identity.
type RecoveryNewCmd struct {
	Out string `required:"" type:"path" help:"File to write the secret identity to (mode 0600, never overwritten)."`
}

func (c *RecoveryNewCmd) Run(a *app) error {
	id, err := crypto.NewIdentity()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(c.Out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return cli.WithHint(fmt.Errorf("%s already exists", c.Out), "a recovery identity is never overwritten: choose a new file name")
		}
		return err
	}
	_, err = io.WriteString(f, id.Export())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(c.Out)
		return fmt.Errorf("writing %s: %w", c.Out, err)
	}
	fmt.Fprintln(a.stdout, id.Recipient())
	fmt.Fprintf(a.stderr, "recovery identity written to %s (fingerprint %s)\nkeep it offline; then run: fieldcased recovery set <the recipient above>\n",
		c.Out, crypto.Fingerprint(id.Recipient()))
	return nil
}

// RecoverySetCmd sets the recovery recipient.
type RecoverySetCmd struct {
	Recipient string `arg:"" help:"The recipient printed by 'recovery new' (age1pq1…), or - to read it from standard input."`
}

func (c *RecoverySetCmd) Run(a *app) error {
	r := c.Recipient
	if r == "-" {
		b, err := io.ReadAll(io.LimitReader(a.stdin, 64<<10))
		if err != nil {
			return err
		}
		r = strings.TrimSpace(string(b))
	}
	if err := crypto.ParseRecipient(r); err != nil {
		return cli.WithHint(errors.New("not a post-quantum age recipient"), "use the age1pq1… line that 'fieldcased recovery new' printed")
	}
	if err := a.do(server.AdminRequest{Op: server.OpRecoverySet, Recipient: r}, nil); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "recovery recipient set (fingerprint %s)\n", crypto.Fingerprint(r))
	return nil
}
