package main

import "github.com/fieldcase/fieldcase/internal/cli"

// manInfo is what fieldcase's man page says beyond its commands.
func manInfo() cli.ManInfo {
	st := cli.BuildStamp(version, commit, date)
	return cli.ManInfo{Version: st.Version, Date: st.Date, Sections: []cli.ManSection{
		{Title: "Environment", Text: []string{
			"FIELDCASE_VAULT: the vault file, as --vault.",
			"FIELDCASE_PASSPHRASE_FILE: a file holding the passphrase, for scripts; FIELDCASE_PASSPHRASE holds it directly (visible to other processes of the same user: prefer the file).",
			"FIELDCASE_IDLE_LOCK, FIELDCASE_HIGH_CONTRAST, FIELDCASE_AUDIO_DEVICE: the terminal UI's flags.",
			"XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME: where the settings file, the vault and the log go.",
			"NO_COLOR: when set, the terminal UI uses no colour.",
		}},
		{Title: "Files", Text: []string{
			"~/.local/share/fieldcase/vault.db: the vault (every value in it is encrypted).",
			"~/.config/fieldcase/config.toml: settings (vault, idle_lock, high_contrast, audio_device, log); never case data. A flag beats its environment variable, which beats this file, which beats the default.",
			"~/.local/state/fieldcase/fieldcase.log: the terminal UI's diagnostics log (events and errors, no case data).",
		}},
		{Title: "Exit status", Text: []string{
			"0 on success; 1 when the command failed (the error is on standard error, as \"fieldcase: <what went wrong>\" and often a \"hint:\" line); 2 for a command line that does not parse; 130 when cancelled with Ctrl+C or Ctrl+D; 1 from search when no note matches.",
		}},
		{Title: "See also", Text: []string{"fieldcased(1)"}},
	}}
}
