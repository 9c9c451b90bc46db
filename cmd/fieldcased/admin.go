package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
	"github.com/fieldcase/fieldcase/trust"
)

// adminConn runs admin operations on a running server through its admin
// socket or, when none runs, directly on the store.
type adminConn struct {
	exec  func(ctx context.Context, req server.AdminRequest, result any) error
	close func() error
}

// storeNamed reports whether the command line or the environment names a
// store (--data, FIELDCASED_DATA, --db or FIELDCASED_DB). Administration
// never creates a store in the default data directory by itself.
func (a *app) storeNamed() bool { return a.cli.Data != "" || a.cli.DB != "" }

// admin connects to the data directory's server, or opens its store. create
// says whether a missing store may be created (installing the agency key),
// and only in a data directory named explicitly. With a PostgreSQL store
// (--db) it always works on the database directly: every server instance
// sees the change at once.
func (a *app) admin(create bool) (*adminConn, error) {
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
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && (!create || a.cli.Data == "") {
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
func (a *app) do(create bool, req server.AdminRequest, result any) error {
	return a.with(create, func(c *adminConn) error { return a.call(c, req, result) })
}

// with runs fn on one connection and closes it.
func (a *app) with(create bool, fn func(*adminConn) error) error {
	conn, err := a.admin(create)
	if err != nil {
		return err
	}
	err = fn(conn)
	if cerr := conn.close(); err == nil {
		err = cerr
	}
	return err
}

// call runs one operation; its error gets a hint.
func (a *app) call(c *adminConn, req server.AdminRequest, result any) error {
	return adminHint(c.exec(a.ctx, req, result))
}

func adminHint(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, server.ErrNoAgency):
		return cli.WithHint(err, noAgencyHint)
	case errors.Is(err, server.ErrNotTrusted):
		return cli.WithHint(err, "'fieldcased roster' lists what the server holds and what it does not accept")
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

// directory reads the server's teams and users.
func (a *app) directory(c *adminConn) (server.Directory, error) {
	var d server.Directory
	err := a.call(c, server.AdminRequest{Op: server.OpDirectory}, &d)
	return d, err
}

// addStatements sends statements the agency signed.
func (a *app) addStatements(c *adminConn, statements ...trust.Signed) error {
	return a.call(c, server.AdminRequest{Op: server.OpStatementsAdd, Statements: statements}, nil)
}

// signing opens the connection, checks the server has an agency key, opens
// the key file (asking its passphrase) and runs fn with both.
func (a *app) signing(keyFile string, fn func(c *adminConn, k *trust.AgencyKey) error) error {
	return a.with(false, func(c *adminConn) error {
		info, err := serverAgency(a.ctx, c)
		if err != nil {
			return err
		}
		k, err := signer(info, keyFile)
		if err != nil {
			return err
		}
		return fn(c, k)
	})
}

// sign signs a statement with the agency key, issued now.
func sign(k *trust.AgencyKey, st trust.Statement) trust.Signed {
	st.Issued = time.Now()
	return k.Sign(st)
}

// TeamCmd manages teams.
type TeamCmd struct {
	Add TeamAddCmd `cmd:"" help:"Add a team (signed with the agency key)."`
}

// TeamAddCmd adds a team.
type TeamAddCmd struct {
	Name string `arg:"" help:"Team name."`
	AgencyKeyFlag
}

func (c *TeamAddCmd) Run(a *app) error {
	if err := server.CheckName("team", c.Name); err != nil {
		return cli.WithHint(err, "a name of 1 to 64 printable characters")
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		d, err := a.directory(conn)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(d.Teams, func(t server.Team) bool { return t.Name == c.Name }); i >= 0 {
			return cli.WithHint(fmt.Errorf("team %q already exists", c.Name), existsHint("team", d, d.Teams[i].ID))
		}
		if err := a.addStatements(conn, sign(k, trust.Statement{Kind: trust.KindTeam, Team: record.NewID(), Name: c.Name})); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "added team %q\n", c.Name)
		return nil
	})
}

// UserCmd manages users.
type UserCmd struct {
	Add UserAddCmd `cmd:"" help:"Add a user (signed with the agency key)."`
}

// UserAddCmd adds a user.
type UserAddCmd struct {
	Name       string        `arg:"" help:"User name (unique)."`
	Role       string        `required:"" enum:"caseworker,supervisor,typist,admin" help:"caseworker, supervisor, typist or admin."`
	Team       string        `help:"The user's team (every role but admin needs one)."`
	EnrollCode bool          `name:"enroll-code" help:"Also make an enrolment code for the user's first laptop (one passphrase for both)."`
	TTL        time.Duration `name:"ttl" default:"24h" help:"With --enroll-code: how long the code stays valid."`
	AgencyKeyFlag
}

func (c *UserAddCmd) Run(a *app) error {
	if err := server.CheckName("user", c.Name); err != nil {
		return cli.WithHint(err, "a name of 1 to 64 printable characters")
	}
	if c.Team == "" && trust.Role(c.Role) != trust.RoleAdmin {
		return cli.WithHint(fmt.Errorf("a %s needs a team", c.Role), "add --team TEAM ('fieldcased team add TEAM' makes one)")
	}
	if c.EnrollCode {
		if err := checkTTL(c.TTL); err != nil {
			return err
		}
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		d, err := a.directory(conn)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(d.Users, func(u server.User) bool { return u.Name == c.Name }); i >= 0 {
			return cli.WithHint(fmt.Errorf("user %q already exists", c.Name), existsHint("user", d, d.Users[i].ID))
		}
		teamID := ""
		if c.Team != "" {
			if teamID, err = teamNamed(d, c.Team, "add it first with 'fieldcased team add NAME'"); err != nil {
				return err
			}
		}
		id := record.NewID()
		statements := []trust.Signed{sign(k, trust.Statement{Kind: trust.KindUser, User: id, Name: c.Name, Role: trust.Role(c.Role), Team: teamID, Version: 1})}
		var code trust.Code
		var expires time.Time
		if c.EnrollCode {
			var g trust.Signed
			code, g, expires = grant(k, id, c.TTL)
			statements = append(statements, g)
		}
		if err := a.addStatements(conn, statements...); err != nil {
			return err
		}
		if c.Team != "" {
			fmt.Fprintf(a.stdout, "added %s %q to team %q\n", c.Role, c.Name, c.Team)
		} else {
			fmt.Fprintf(a.stdout, "added %s %q\n", c.Role, c.Name)
		}
		if c.EnrollCode {
			printCode(a, code, c.Name, expires)
		}
		return nil
	})
}

// existsHint advises on a name that is taken: by a signed team or user, or
// by one from before signed statements.
func existsHint(what string, d server.Directory, id string) string {
	if slices.Contains(d.Unsigned, id) {
		return "it is there from before signed statements: sign it as it is with 'fieldcased agency adopt --agency-key FILE'"
	}
	return what + " names are unique: pick another"
}

func checkTTL(ttl time.Duration) error {
	if ttl < time.Minute || ttl > server.MaxEnrollTTL {
		return cli.WithHint(fmt.Errorf("--ttl %s is out of range", ttl), fmt.Sprintf("use a lifetime from 1m to %s", server.MaxEnrollTTL))
	}
	return nil
}

// grant makes an enrolment code for a user and the grant the agency signs
// for it: the grant names only the public half of the code's key.
func grant(k *trust.AgencyKey, userID string, ttl time.Duration) (trust.Code, trust.Signed, time.Time) {
	code := trust.NewCode(k.Public())
	expires := time.Now().Add(ttl).Truncate(time.Second)
	return code, sign(k, trust.Statement{Kind: trust.KindGrant, Grant: code.GrantID(), User: userID,
		Key: code.Key().Public().(ed25519.PublicKey), Expires: expires}), expires
}

// printCode prints a code alone on its line, and how to hand it over.
func printCode(a *app, code trust.Code, user string, expires time.Time) {
	fmt.Fprintln(a.stdout, code)
	fmt.Fprintf(a.stderr, "one-time enrolment code for %s, valid until %s; give it to them in person or by phone\n"+
		"(the server holds only its grant: the code itself is not stored anywhere)\n",
		user, expires.Local().Format("2006-01-02 15:04 MST"))
}

// signedUser is the user named name as the statements the server stores
// prove under the agency key k: the grant for a code names a user id, and
// the server's directory must not choose it (a hostile server would give
// its own account's name another user's id, and get a code for a laptop of
// theirs).
func (a *app) signedUser(conn *adminConn, k *trust.AgencyKey, name string) (trust.User, error) {
	var ri server.RosterInfo
	if err := a.call(conn, server.AdminRequest{Op: server.OpRoster}, &ri); err != nil {
		return trust.User{}, err
	}
	ss := make([]trust.Signed, 0, len(ri.Statements))
	for _, s := range ri.Statements {
		ss = append(ss, s.Signed)
	}
	var found []trust.User
	for _, u := range trust.Evaluate(k.Public(), ss).Users {
		if u.Name == name {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 0:
		return trust.User{}, cli.WithHint(fmt.Errorf("no user %q is signed with the agency key among the statements the server holds", name),
			"'fieldcased roster' lists them; sign the user first ('fieldcased user add' or 'fieldcased agency adopt')")
	case 1:
		return found[0], nil
	}
	return trust.User{}, fmt.Errorf("%d users named %q are signed with the agency key: no code is made", len(found), name)
}

// EnrollCodeCmd makes a one-time enrolment code.
type EnrollCodeCmd struct {
	User string        `arg:"" help:"The user whose new device will enrol."`
	TTL  time.Duration `name:"ttl" default:"24h" help:"How long the code stays valid."`
	AgencyKeyFlag
}

func (c *EnrollCodeCmd) Run(a *app) error {
	if err := checkTTL(c.TTL); err != nil {
		return err
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		d, err := a.directory(conn)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(d.Users, func(u server.User) bool { return u.Name == c.User })
		if i < 0 {
			return cli.WithHint(fmt.Errorf("user %q: %w", c.User, server.ErrNotFound), "add it first with 'fieldcased user add NAME --role ROLE --team TEAM'")
		}
		if slices.Contains(d.Unsigned, d.Users[i].ID) {
			return cli.WithHint(fmt.Errorf("user %q is not signed with the agency key, so no device would trust a laptop of theirs", c.User),
				"sign the users the server had before ('fieldcased agency adopt --agency-key FILE')")
		}
		u, err := a.signedUser(conn, k, c.User)
		if err != nil {
			return err
		}
		if u.ID != d.Users[i].ID {
			return fmt.Errorf("the server names user %q %s, but the agency signed %s under that name: no code is made", c.User, d.Users[i].ID, u.ID)
		}
		code, g, expires := grant(k, u.ID, c.TTL)
		if err := a.addStatements(conn, g); err != nil {
			return err
		}
		printCode(a, code, c.User, expires)
		return nil
	})
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
	if err := a.do(false, server.AdminRequest{Op: server.OpDeviceList}, &devices); err != nil {
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
		revoked := when(d.Revoked)
		switch {
		case d.Signed:
			revoked += " (signed)"
		case !d.Revoked.IsZero() && d.Trusted:
			revoked += " (token only)"
		case !d.Trusted:
			revoked += " (enrol again)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.User, d.Name, when(d.Enrolled), when(d.LastSeen), when(d.LastSync), revoked)
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
	ID     string `arg:"" help:"Device id (see 'device list')."`
	Reason string `help:"Why, for the record (in the signed revocation)."`
	AgencyKeyFlag
}

func (c *DeviceRevokeCmd) Run(a *app) error {
	if c.AgencyKey == "" {
		var d server.DeviceInfo
		if err := a.do(false, server.AdminRequest{Op: server.OpDeviceRevoke, ID: c.ID}, &d); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "revoked the token of device %s (%s of %s): its next request is refused\n", d.ID, d.Name, d.User)
		if d.Trusted && !d.Signed {
			fmt.Fprintf(a.stderr, "warning: the other devices keep wrapping case keys to it until a signed revocation exists:\n"+
				"  fieldcased device revoke %s --agency-key FILE\n"+
				"or a supervisor's laptop, or %s's other laptop, runs 'fieldcase device revoke %s'\n", d.ID, d.User, d.ID)
		}
		return nil
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		// Its token first: from then on its acknowledged sequence number
		// cannot grow, and the revocation names it.
		var d server.DeviceInfo
		if err := a.call(conn, server.AdminRequest{Op: server.OpDeviceRevoke, ID: c.ID}, &d); err != nil {
			return err
		}
		if !d.Trusted {
			fmt.Fprintf(a.stdout, "revoked the token of device %s (%s of %s)\n", d.ID, d.Name, d.User)
			fmt.Fprintln(a.stderr, "its enrolment does not chain to the agency key, so no device wraps keys to it: no signed revocation is needed")
			return nil
		}
		// The server's word on both numbers: where it may be compromised,
		// revoke from a supervisor's laptop, which goes by what it saw.
		r := sign(k, trust.Statement{Kind: trust.KindRevoke, Device: d.ID, AfterSeq: d.AckedSeq, Reason: c.Reason, LogSize: d.LogSize})
		if err := a.addStatements(conn, r); err != nil {
			return err
		}
		var owed []server.RotationInfo
		if err := a.call(conn, server.AdminRequest{Op: server.OpRotations}, &owed); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "revoked device %s (%s of %s) by signature: its writes after #%d, or logged at entry %d or later, do not count\n", d.ID, d.Name, d.User, d.AckedSeq, d.LogSize)
		fmt.Fprintf(a.stderr, "%d cases owe a new key epoch; each starts at the next sync of a member's or supervisor's laptop ('fieldcased rotations')\n", len(owed))
		return nil
	})
}

// RosterCmd lists the signed statements.
type RosterCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *RosterCmd) Run(a *app) error {
	var r server.RosterInfo
	if err := a.do(false, server.AdminRequest{Op: server.OpRoster}, &r); err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(a.stdout, "agency %s (fingerprint %s), roster version %d\n", r.Agency, r.Fingerprint, r.Version)
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSUBJECT\tSIGNER\tACCEPTED")
	for _, s := range r.Statements {
		ok := "yes"
		switch {
		case s.Superseded:
			ok = "superseded"
		case !s.Accepted:
			ok = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Kind, s.Subject, s.Signer, ok)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(a.stdout, "%d statements not accepted (devices ignore them too):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(a.stdout, "  %s\n", p)
		}
	}
	return nil
}

// RotationsCmd lists the cases owing a key rotation.
type RotationsCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

func (c *RotationsCmd) Run(a *app) error {
	var owed []server.RotationInfo
	if err := a.do(false, server.AdminRequest{Op: server.OpRotations}, &owed); err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(owed)
	}
	if len(owed) == 0 {
		fmt.Fprintln(a.stdout, "no rotations owed")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tTEAM\tEPOCH\tMEMBERS")
	for _, o := range owed {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", o.CaseID, o.Team, o.Epoch, o.Members)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, "each case gets a new key epoch at the next sync of a member's or supervisor's laptop; a device revoked may still read what was written before it")
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
	if err := a.do(false, server.AdminRequest{Op: server.OpBackup, Path: out}, nil); err != nil {
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
	AgencyKeyFlag
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
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		var info server.AgencyInfo
		if err := a.call(conn, server.AdminRequest{Op: server.OpAgencyShow}, &info); err != nil {
			return err
		}
		st := trust.Statement{Kind: trust.KindRecovery, Recipient: r, Version: info.RecoveryVersion + 1}
		if err := a.addStatements(conn, sign(k, st)); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "recovery recipient set (fingerprint %s, version %d)\n", crypto.Fingerprint(r), st.Version)
		return nil
	})
}

// DueRulesCmd sets the agency's due-date rules.
type DueRulesCmd struct {
	Set DueRulesSetCmd `cmd:"" help:"Sign due rules for every team, or for one (--team), one version above those in force."`
}

// DueRulesSetCmd signs and stores due rules.
type DueRulesSetCmd struct {
	Rules string `arg:"" help:"Working days per priority, and caps per work type: urgent=1,high=2,normal=5,court report=3."`
	Team  string `help:"The team they are for (its name); without it, every team that has no rules of its own."`
	AgencyKeyFlag
}

// Help explains the formula.
func (DueRulesSetCmd) Help() string {
	return record.DueFormula + " Devices take these over a laptop's own turnaround setting, and check the agency's " +
		"signature (or a supervisor device's, for its own team), so the server can neither forge nor roll them back. " +
		"A team's own rules beat the agency-wide ones."
}

func (c *DueRulesSetCmd) Run(a *app) error {
	rules, err := record.ParseDueRules(c.Rules)
	if err != nil {
		return cli.WithHint(err, "write priority=working days, e.g. urgent=1,high=2,normal=5,court report=3")
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		teamID := ""
		if c.Team != "" {
			d, err := a.directory(conn)
			if err != nil {
				return err
			}
			if teamID, err = teamNamed(d, c.Team, "'fieldcased roster' lists the teams"); err != nil {
				return err
			}
		}
		var info server.AgencyInfo
		if err := a.call(conn, server.AdminRequest{Op: server.OpAgencyShow}, &info); err != nil {
			return err
		}
		st := trust.Statement{Kind: trust.KindDueRules, Team: teamID, Version: info.DueRules[teamID].Version + 1, Rules: trust.DueRuleList(rules)}
		if err := a.addStatements(conn, sign(k, st)); err != nil {
			return err
		}
		scope := "every team"
		if c.Team != "" {
			scope = "team " + c.Team
		}
		fmt.Fprintf(a.stdout, "due rules for %s set (version %d): %s\n", scope, st.Version, rules.Sentence())
		return nil
	})
}

// PolicyCmd sets the agency's caseload-weighting policy.
type PolicyCmd struct {
	Set PolicySetCmd `cmd:"" help:"Sign a weighting policy for every team, or for one (--team), one version above the one in force."`
}

// PolicySetCmd signs and stores a weighting policy.
type PolicySetCmd struct {
	File string `arg:"" help:"The policy as JSON (the fields of 'fieldcase team policy show'), or - for standard input." placeholder:"FILE|-"`
	Team string `help:"The team it is for (its name); without it, every team that has no policy of its own."`
	AgencyKeyFlag
}

// Help says who takes it.
func (PolicySetCmd) Help() string {
	return "Devices check the agency's signature (or a supervisor device's, for its own team), so the server can " +
		"neither forge nor roll the policy back. A team's own policy beats the agency-wide one; without either, " +
		"devices weigh cases by the built-in default."
}

func (c *PolicySetCmd) Run(a *app) error {
	var raw []byte
	var err error
	if c.File == "-" {
		raw, err = io.ReadAll(io.LimitReader(a.stdin, 1<<20))
	} else {
		raw, err = os.ReadFile(c.File)
	}
	if err != nil {
		return err
	}
	var pol record.Policy
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pol); err != nil {
		return cli.WithHint(fmt.Errorf("policy: %w", err), "start from 'fieldcase team policy show' on a supervisor's laptop")
	}
	if err := pol.Validate(); err != nil {
		return err
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		teamID := ""
		if c.Team != "" {
			d, err := a.directory(conn)
			if err != nil {
				return err
			}
			if teamID, err = teamNamed(d, c.Team, "'fieldcased roster' lists the teams"); err != nil {
				return err
			}
		}
		var info server.AgencyInfo
		if err := a.call(conn, server.AdminRequest{Op: server.OpAgencyShow}, &info); err != nil {
			return err
		}
		version := info.Policies[teamID].Version + 1
		js, err := trust.PolicyJSON(pol, version)
		if err != nil {
			return err
		}
		st := trust.Statement{Kind: trust.KindPolicy, Team: teamID, Version: version, Policy: js}
		if err := a.addStatements(conn, sign(k, st)); err != nil {
			return err
		}
		scope := "every team"
		if c.Team != "" {
			scope = "team " + c.Team
		}
		fmt.Fprintf(a.stdout, "weighting policy for %s set (version %d)\n", scope, st.Version)
		return nil
	})
}

// teamNamed is the id of the team named name (or with that id) in d; an
// unknown one is ErrNotFound with hint.
func teamNamed(d server.Directory, name, hint string) (string, error) {
	i := slices.IndexFunc(d.Teams, func(t server.Team) bool { return t.Name == name || t.ID == name })
	if i < 0 {
		return "", cli.WithHint(fmt.Errorf("team %q: %w", name, server.ErrNotFound), hint)
	}
	return d.Teams[i].ID, nil
}
