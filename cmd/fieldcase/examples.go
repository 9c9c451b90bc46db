package main

import (
	"strings"

	"github.com/fieldcase/fieldcase/internal/cli"
)

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
		`fieldcase case add --ref R-1 --risk high --due 2026-12-01   # asks for the subject, date of birth, address, summary`,
		`fieldcase case add --ref R-1 --risk high --form r1.toml     # or give them in a form: see 'fieldcase help case add'`,
		`fieldcase case list --json`,
		`fieldcase case show R-1`,
		`fieldcase case edit R-1 --form moved.toml --risk medium    # moved.toml: address = "4 Kiln Lane"`,
		`fieldcase case assign R-1 --to bob --remove ada   # supervisors; rotates the case key`)
}

// personalData explains, in a data-entry command's help, where its
// personal fields (names) go, with a sample form; asked says whether the
// command asks for them on a terminal.
func personalData(names string, asked bool, form ...string) string {
	where := "Give it in a form"
	if asked {
		where += ", or on a terminal leave it out and fieldcase asks for it"
	}
	return "Personal data (" + names + ") does not belong on the command line: other users of this computer can " +
		"read a command line while it runs, and the shell keeps it in its history. " + where + ". A form is a TOML " +
		"file (or a JSON object) whose keys are the flags' names, e.g.\n\n    " + strings.Join(form, "\n    ") + "\n\n"
}

func (caseAddCmd) Help() string {
	return personalData("the subject, date of birth, address, summary", true,
		`subject = "A. Child"`,
		`dob = 2015-04-01`,
		`address = "4 Kiln Lane, Ashbury"`,
		`summary = """Referred by the school nurse.`,
		`Two younger siblings at home."""`,
		`risk = "high"            # any flag but --ref may be a key`,
	) + cli.Examples(
		`fieldcase case add --ref R-1 --risk high --due 2026-12-01   # on a terminal: asks for the subject, date of birth, address, summary`,
		`fieldcase case add --ref R-1 --form r1.toml`,
		`fieldcase case add --ref R-1 --form - < r1.json             # standard input; JSON: {"subject": "A. Child", "dob": "2015-04-01"}`,
		`fieldcase case add --ref R-1 --subject "A. Child"           # still works, but visible to others (ps) and kept in shell history`)
}

func (caseEditCmd) Help() string {
	return "Only the fields given change; an empty value clears one. " + personalData("the subject, date of birth, address, summary", false,
		`address = "4 Kiln Lane, Ashbury"`,
		`summary = ""             # clears the summary`,
	) + cli.Examples(
		`fieldcase case edit R-1 --form moved.toml --risk medium`,
		`fieldcase case edit R-1 --form - < moved.json`,
		`fieldcase case edit R-1 --new-ref R-1A --status closed`)
}

func (noteCmd) Help() string {
	return cli.Examples(
		`fieldcase note add --case R-1 --kind visit --text-file visit.txt`,
		`fieldcase note add --case R-1 --form visit.toml       # text, place, attendees… in one form: see 'fieldcase help note add'`,
		`fieldcase note add --case R-1 --kind phone --text-file -   # the text from standard input`,
		`fieldcase note list --case R-1 --json           # full text and ids`,
		`fieldcase note edit 01JD3K9Q --text-file new.txt  # an id from 'note list', or a unique prefix`)
}

func (noteAddCmd) Help() string {
	return "The text comes from --text-file, or from a form. " + personalData("the place, the attendees, the text", false,
		`kind = "visit"`,
		`place = "Home, 4 Kiln Lane"`,
		`attendees = ["Mum", "Tilly"]   # any flag but --case and --text-file may be a key`,
		`text = """Kitchen was clean. Tilly showed me her drawings.`,
		`Mum asked about school transport."""`,
	) + cli.Examples(
		`fieldcase note add --case R-1 --kind visit --text-file visit.txt`,
		`fieldcase note add --case R-1 --form visit.toml            # the text, place and attendees in one form`,
		`fieldcase note add --case R-1 --form - < visit.json`,
		`fieldcase note add --case R-1 --kind phone --text-file -   # the text from standard input (on a terminal: type it, then Ctrl+D)`)
}

func (consentCmd) Help() string {
	return cli.Examples(
		`fieldcase consent add --case R-1 --scope health,school --decision given --review-date +6m   # asks whose decision it is`,
		`fieldcase consent add --case R-1 --form consent.toml        # or the person and the rest in a form: see 'fieldcase help consent add'`,
		`fieldcase consent list --case R-1`,
		`fieldcase consent overview --json                # missing, refused, withdrawn or due for review`)
}

func (consentAddCmd) Help() string {
	return personalData("the person, the capacity note", true,
		`person = "Mum"`,
		`scope = ["health", "school"]`,
		`decision = "given"`,
		`capacity_note = "Understood the choice; asked for a week to think."`,
		`review_date = 2027-06-01`,
	) + cli.Examples(
		`fieldcase consent add --case R-1 --scope health,school --decision given   # on a terminal: asks whose decision it is, and for a capacity note`,
		`fieldcase consent add --case R-1 --form consent.toml`,
		`fieldcase consent add --case R-1 --form - < consent.json`,
		`fieldcase consent add --case R-1 --person Mum --scope school --decision withdrawn   # still works, but visible to others (ps) and kept in shell history`)
}

func (taskCmd) Help() string {
	return cli.Examples(
		`fieldcase task add --case R-1 --kind visit --due 14/12/2026   # asks what is to be done; dates in the date order (setting date_order)`,
		`fieldcase task add --case R-1 --kind visit --due mon --form task.toml   # title = "…"; also tomorrow, +7d, 14 dec, 2026-12-14`,
		`fieldcase task list --case R-1`,
		`fieldcase task done --case R-1 01JD3M2X             # an id from 'task list', or a unique prefix`,
		`fieldcase task done --case R-1 01JD3M2X --undo`)
}

func (taskAddCmd) Help() string {
	return personalData("the title, which often names someone or a place", true,
		`title = "Visit Tilly at her grandmother's"`,
		`kind = "visit"`,
		`due = 2026-12-01`,
	) + cli.Examples(
		`fieldcase task add --case R-1 --kind visit --due +2w   # on a terminal: asks what is to be done`,
		`fieldcase task add --case R-1 --form task.toml`,
		`fieldcase task add --case R-1 --due 2026-12-01 --form - < task.json`,
		`fieldcase task add --case R-1 --title "Statutory visit"     # still works, but visible to others (ps) and kept in shell history`)
}

func (searchCmd) Help() string {
	return cli.Examples(
		`fieldcase search                       # asks for the words, so that a name searched for stays off the command line`,
		`fieldcase search < words.txt           # the words from standard input`,
		`fieldcase search school attendance --json`)
}

func (recordCmd) Help() string {
	return cli.Examples(
		`fieldcase record --case R-1 --work-type "court report"   # Enter or Ctrl+C stops`,
		`fieldcase record --case R-1 --seconds 90 --device "USB headset"`,
		`fieldcase record --case R-1 --form rec.toml                # title = "…": a title often names someone`,
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
