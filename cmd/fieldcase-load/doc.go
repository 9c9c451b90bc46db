// Command fieldcase-load is a load generator for fieldcased: it simulates
// the devices of an agency's teams syncing at once against a real server on
// this machine, and reports revisions stored per second, push and pull
// latency, errors, and the CPU and memory of the server (and of PostgreSQL)
// read from /proc.
//
//	fieldcase-load --devices 500 --teams 10 --duration 40s --db postgres://…
//
// By default it starts the fieldcased binary (--fieldcased) on a fresh data
// directory on 127.0.0.1 (with --db: over that database, which should be
// empty), enrols every device through the admin socket and POST /v1/enroll,
// runs the load and stops the server. With --server it loads a server that
// is already running instead (its data directory given by --data, its
// process by --pid for the CPU and memory figures).
//
// Each user has two devices (a laptop and a desktop), and the first user of
// each team is a supervisor, so pulls carry data: a device pulls what the
// user's other device and, for a supervisor, the team wrote. Every device
// runs a sync round every --interval (jittered): a push of --batch
// revisions with --body bytes of opaque (random) sealed body, mostly new
// notes and some edits, then pulls until nothing more. Requests only go to
// loopback addresses; every run ends by itself after --duration.
package main
