package main

import "github.com/fieldcase/fieldcase/internal/cli"

// The examples in the main commands' --help (kong's HelpProvider), also in
// the man page. Ids and codes stand for the ones the user has.

func (initCmd) Help() string {
	return cli.Examples(
		`fieldcase init --name "Jo Bloggs"                 # asks for a passphrase twice, with a strength hint`,
		`fieldcase --vault ~/work.db init                  # a vault somewhere else`,
		`FIELDCASE_PASSPHRASE_FILE=pass.txt fieldcase init # scripts: no prompt`)
}

func (enrollCmd) Help() string {
	return cli.Examples(
		`fieldcase enroll --server https://cases.agency.example:8443 --code K7QD-3MXA-P2VH --fingerprint 9f86d081…`,
		`fieldcase enroll --server https://cases.agency.example:8443 --code K7QD-3MXA-P2VH   # shows the fingerprint to compare`)
}

func (syncCmd) Help() string {
	return cli.Examples(
		`fieldcase sync                  # push what changed here, pull what changed elsewhere`,
		`fieldcase sync --timeout 2m`)
}

func (caseCmd) Help() string {
	return cli.Examples(
		`fieldcase case add --ref R-1 --subject "A. Child" --risk high --due 2026-12-01`,
		`fieldcase case list --json`,
		`fieldcase case show R-1`,
		`fieldcase case edit R-1 --address "4 Kiln Lane" --risk medium`,
		`fieldcase case assign R-1 --to bob --remove ada   # supervisors; rotates the case key`)
}

func (noteCmd) Help() string {
	return cli.Examples(
		`fieldcase note add --case R-1 --kind visit --attendee Mum --text-file visit.txt`,
		`echo "Called school." | fieldcase note add --case R-1 --kind phone --text-file -`,
		`fieldcase note list --case R-1 --json           # full text and ids`,
		`fieldcase note edit 01JD3K9Q --text-file new.txt  # an id from 'note list', or a unique prefix`)
}

func (consentCmd) Help() string {
	return cli.Examples(
		`fieldcase consent add --case R-1 --person Mum --scope health,school --decision given --review-date 2027-06-01`,
		`fieldcase consent add --case R-1 --person Mum --scope school --decision withdrawn`,
		`fieldcase consent list --case R-1`,
		`fieldcase consent overview --json                # missing, refused, withdrawn or due for review`)
}

func (taskCmd) Help() string {
	return cli.Examples(
		`fieldcase task add --case R-1 --title "Statutory visit" --kind visit --due 2026-12-01`,
		`fieldcase task list --case R-1`,
		`fieldcase task done --case R-1 01JD3M2X             # an id from 'task list', or a unique prefix`,
		`fieldcase task done --case R-1 01JD3M2X --undo`)
}

func (recordCmd) Help() string {
	return cli.Examples(
		`fieldcase record --case R-1 --work-type "court report"   # Enter or Ctrl+C stops`,
		`fieldcase record --case R-1 --seconds 90 --device "USB headset"`,
		`fieldcase config set audio_device "USB headset"          # the default microphone from now on`)
}

func (recordingCmd) Help() string {
	return cli.Examples(
		`fieldcase recording list --case R-1`,
		`fieldcase recording export 01JD3P4W -o report.ogg    # Ogg Opus; .wav works too`,
		`fieldcase recording submit 01JD3P4W                   # for typing`,
		`fieldcase recording transcribe 01JD3P4W --text-file t.txt`,
		`fieldcase recording devices`)
}

func (exportCmd) Help() string {
	return cli.Examples(
		`fieldcase export --jsonl -o backup.jsonl     # decrypted: keep it safe, delete it when done`,
		`fieldcase export --jsonl | gzip > backup.jsonl.gz`)
}

func (importCmd) Help() string {
	return cli.Examples(
		`fieldcase import old-system.jsonl            # one transaction: a bad line is reported, nothing applied`,
		`fieldcase export --jsonl | fieldcase --vault new.db import -`)
}
