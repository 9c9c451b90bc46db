// Command fieldcased is fieldcase's central case server: it serves the sync
// protocol to enrolled devices and stores ciphertext only, and the same
// binary administers it — teams, users, enrolment codes, devices, the
// agency recovery recipient and backups — over a local admin socket while
// the server runs, or directly on its store while it is stopped.
//
//	fieldcased init --data DIR
//	fieldcased serve --data DIR --listen ADDR
//	fieldcased team add NAME
//	fieldcased user add NAME --role caseworker --team TEAM
//	fieldcased enroll-code USER [--ttl 24h]
//	fieldcased device list [--json] | device revoke ID
//	fieldcased backup --out FILE | restore --from FILE
//	fieldcased recovery new --out FILE | recovery set RECIPIENT
//	fieldcased migrate --from bbolt:DIR --to postgres://…
//	fieldcased new-epoch --db postgres://…
//
// --data (or $FIELDCASED_DATA) is required: there is no default, so no
// store appears in the home directory of whoever ran a command, and only
// init and serve create a store; the other commands refuse an empty
// directory. --db (or $FIELDCASED_DB) names a PostgreSQL database: serve
// and every administration command then use it (sync/server/pgstore), and
// several servers may share it, each with its own data directory for its
// TLS files and admin socket. Without it the store is bbolt in the data
// directory. docs/OPERATIONS.md is the operator's guide.
package main
