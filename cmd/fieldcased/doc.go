// Command fieldcased is fieldcase's central case server: it serves the sync
// protocol to enrolled devices and stores ciphertext only, and the same
// binary administers it — the agency key, teams, users, enrolment codes,
// devices, the agency recovery recipient and backups — over a local admin
// socket while the server runs, or directly on its store while it is
// stopped.
//
//	fieldcased init --data DIR
//	fieldcased serve --data DIR --listen ADDR
//	fieldcased agency init --out FILE [--data DIR] | agency show | agency set-key KEY [--force]
//	fieldcased team add NAME --agency-key FILE
//	fieldcased user add NAME --role caseworker --team TEAM --agency-key FILE [--enroll-code]
//	fieldcased enroll-code USER [--ttl 24h] --agency-key FILE
//	fieldcased device list [--json] | device revoke ID [--agency-key FILE] [--reason TEXT]
//	fieldcased roster [--json] | rotations [--json]
//	fieldcased backup --out FILE | restore --from FILE
//	fieldcased recovery new --out FILE | recovery set RECIPIENT --agency-key FILE
//	fieldcased migrate --from bbolt:DIR --to postgres://…
//	fieldcased new-epoch --db postgres://…
//
// Whatever makes someone a holder of case keys is a statement signed with
// the agency's key (package trust): the commands that make one take
// --agency-key FILE ($FIELDCASED_AGENCY_KEY), decrypt the key here — its
// passphrase asked on the terminal, or read from the file
// $FIELDCASED_AGENCY_PASSPHRASE_FILE names — and send the server only the
// signed statements.
//
// --data (or $FIELDCASED_DATA) is required: there is no default, so no
// store appears in the home directory of whoever ran a command, and only
// init, serve and agency init create a store; the other commands refuse an
// empty directory. --db (or $FIELDCASED_DB) names a PostgreSQL database: serve
// and every administration command then use it (sync/server/pgstore), and
// several servers may share it, each with its own data directory for its
// TLS files and admin socket. Without it the store is bbolt in the data
// directory. docs/OPERATIONS.md is the operator's guide.
package main
