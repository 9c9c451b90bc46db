package main

import (
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/store"
)

// CLI is the command-line contract. Scripts and tests rely on these names:
// keep them.
type CLI struct {
	Vault   string           `help:"Vault file (default: ${default_vault}; env FIELDCASE_VAULT)." placeholder:"PATH" type:"path"`
	Version kong.VersionFlag `help:"Print the version and exit."`
	// Lang is read before parsing (chooseLocale); kong only checks it is
	// there, and shows it in the help.
	Lang string `help:"Language of messages: en (English) or cy (Welsh) (setting lang; default from LC_ALL, LC_MESSAGES or LANG)." placeholder:"LANG"`

	Open         openCmd         `cmd:"" default:"withargs" hidden:"" help:"Open the terminal UI (what 'fieldcase' alone does; this name is for scripts)."`
	Init         initCmd         `cmd:"" help:"Create a new vault on this device."`
	Case         caseCmd         `cmd:"" help:"Add, list, show and edit cases."`
	Note         noteCmd         `cmd:"" help:"Add, list and edit case notes."`
	Consent      consentCmd      `cmd:"" help:"Record and list consent decisions."`
	Task         taskCmd         `cmd:"" help:"Add, list and complete tasks and visits."`
	Agenda       agendaCmd       `cmd:"" help:"What is overdue, due today and this week across every open case: visits, tasks, hearings, consent reviews."`
	Search       searchCmd       `cmd:"" help:"Search the text of every note."`
	Import       importCmd       `cmd:"" help:"Import cases, notes, consents and tasks from JSON Lines."`
	Export       exportCmd       `cmd:"" help:"Export every record as JSON Lines (decrypted)."`
	ExportCase   exportCaseCmd   `cmd:"" name:"export-case" help:"Export one case (decrypted) as JSON, CSV or HL7 FHIR R4, or redacted for a subject access request."`
	Demo         demoCmd         `cmd:"" help:"Create a vault full of fictional demo cases."`
	Enroll       enrollCmd       `cmd:"" help:"Register this device with the agency's case server."`
	Sync         syncCmd         `cmd:"" help:"Sync once with the case server (the TUI syncs by itself)."`
	Record       recordCmd       `cmd:"" help:"Dictate into a case from the microphone."`
	Audit        auditCmd        `cmd:"" help:"A case's access history, and checks of the audit trail."`
	Team         teamCmd         `cmd:"" help:"The team's caseloads and weighting policy (supervisors)."`
	Retention    retentionCmd    `cmd:"" help:"Retention: the policy, cases due, legal holds, the destruction queue."`
	Recording    recordingCmd    `cmd:"" help:"List, export and submit recordings."`
	Bundle       bundleCmd       `cmd:"" help:"Write a case's court bundle: an indexed PDF, the recordings, and the evidence that checks them."`
	VerifyBundle verifyBundleCmd `cmd:"" name:"verify-bundle" help:"Check a court bundle from its files alone (as fieldcase-verify does)."`
	Agent        agentCmd        `cmd:"" help:"Keep the vault unlocked for a scripted session, like ssh-agent (opt-in)."`
	Passwd       passwdCmd       `cmd:"" help:"Change the vault passphrase."`
	Device       deviceCmd       `cmd:"" help:"Pair another laptop of yours, or revoke a lost one."`
	Roster       rosterCmd       `cmd:"" help:"Who the agency's signed roster says may hold case keys, with fingerprints."`
	Doctor       doctorCmd       `cmd:"" help:"Check this vault: quarantined records, roster problems, a restored backup, the server's log."`
	Receipts     receiptsCmd     `cmd:"" help:"The server's signed receipts for what this laptop sent in a case: proof of delivery."`
	Config       configCmd       `cmd:"" help:"Show and change settings (the settings file)."`
	Pedal        pedalCmd        `cmd:"" help:"Set up a USB transcription foot pedal: see what it sends."`

	HelpCmd    cli.HelpCmd       `cmd:"" name:"help" help:"Show the help of a command, e.g. 'fieldcase help case add'."`
	Completion cli.CompletionCmd `cmd:"" help:"Print a shell completion script: bash, zsh or fish (e.g. add 'source <(fieldcase completion bash)' to ~/.bashrc)."`
	Man        cli.ManCmd        `cmd:"" hidden:"" help:"Write the man page (make man)."`
}

// tuiGroup holds the terminal UI's flags. They belong to the hidden default
// command, so 'fieldcase --idle-lock 5' works and 'fieldcase --idle-lock 5
// case list' is refused by kong; helpPrinter lists them in the program's
// help.
var tuiGroup = kong.Group{Key: "tui", Title: "Terminal UI flags (for 'fieldcase' with no command):"}

// helpPrinter is kong's help, with the terminal UI's flags in the
// program's own help: kong leaves a hidden default command's flags out.
func helpPrinter(opts kong.HelpOptions, ctx *kong.Context) error {
	root := ctx.Model.Node
	if ctx.Selected() == nil && root.DefaultCmd != nil {
		saved := root.Flags
		root.Flags = append(slices.Clip(saved), root.DefaultCmd.Flags...)
		defer func() { root.Flags = saved }()
	}
	return kong.DefaultHelpPrinter(opts, ctx)
}

func defaultVaultHelp() string {
	p := store.DefaultPath()
	if home, err := os.UserHomeDir(); err == nil && home != "" && strings.HasPrefix(p, home) {
		p = "~" + strings.TrimPrefix(p, home)
	}
	return p
}

// envResolver fills --vault from FIELDCASE_VAULT through the injected
// environment (tests run commands in-process with their own environment).
func envResolver(getenv func(string) string) kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
		if flag.Name == "vault" {
			if v := getenv("FIELDCASE_VAULT"); v != "" {
				return kong.ExpandPath(v), nil
			}
		}
		return nil, nil
	})
}

func (a *app) vaultPath() string {
	if a.cli.Vault != "" {
		return a.cli.Vault
	}
	return store.DefaultPath()
}
