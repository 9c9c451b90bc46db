package main

import "github.com/fieldcase/fieldcase/internal/cli"

// The examples in the main commands' --help, also in the man page.

func (ServeCmd) Help() string {
	return cli.Examples(
		`fieldcased init --data /var/lib/fieldcased`,
		`fieldcased serve --data /var/lib/fieldcased --listen :8443     # prints the certificate fingerprint on first start`,
		`fieldcased serve --data /var/lib/fieldcased --tls-cert cert.pem --tls-key key.pem`,
		`FIELDCASED_DB=postgres://fieldcased@db/fieldcase fieldcased serve --data /var/lib/fieldcased-1`)
}

func (UserCmd) Help() string {
	return cli.Examples(
		`fieldcased user add ada --role caseworker --team north --data /var/lib/fieldcased`,
		`fieldcased user add sam --role supervisor --team north --data /var/lib/fieldcased`,
		`fieldcased user add it-admin --role admin --data /var/lib/fieldcased`)
}

func (EnrollCodeCmd) Help() string {
	return cli.Examples(
		`fieldcased enroll-code ada --data /var/lib/fieldcased           # one-time, valid 24 hours: give it in person`,
		`fieldcased enroll-code ada --ttl 2h --data /var/lib/fieldcased`)
}

// manInfo is what fieldcased's man page says beyond its commands.
func manInfo() cli.ManInfo {
	st := cli.BuildStamp(version, commit, date)
	return cli.ManInfo{Version: st.Version, Date: st.Date, Sections: []cli.ManSection{
		{Title: "Environment", Text: []string{
			"FIELDCASED_DATA: the data directory, as --data (required by every command that uses one).",
			"FIELDCASED_DB: a PostgreSQL URL, as --db. Prefer it, or a ~/.pgpass file (PGPASSFILE), to a password on the command line.",
		}},
		{Title: "Files", Text: []string{
			"DIR/fieldcased.db: the bbolt store (without --db). DIR/tls-cert.pem and DIR/tls-key.pem: the self-signed certificate made on first start. DIR/admin.sock: the administration socket of a running server (mode 0600).",
		}},
		{Title: "Exit status", Text: []string{
			"0 on success; 1 when the command failed (the error is on standard error, as \"fieldcased: <what went wrong>\" and often a \"hint:\" line); 2 for a command line that does not parse.",
		}},
		{Title: "See also", Text: []string{"fieldcase(1); docs/OPERATIONS.md in the source, the operator's guide."}},
	}}
}
