package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/internal/i18n"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, err string
	}{
		{"empty", "", ""},
		{"all", "vault = \"/v.db\"\nidle_lock = 0\nhigh_contrast = true\naudio_device = \"USB\"\nlog = \"/l.log\"\n", ""},
		{"unknown key", "colour = \"blue\"\n", `unknown setting "colour"`},
		{"notes are not settings", "note = \"the child said…\"\n", `unknown setting "note"`},
		{"bad number", "idle_lock = \"ten\"\n", `idle_lock: "ten" is not a number of minutes`},
		{"out of range", "idle_lock = 5000\n", `idle_lock: "5000" is not a number of minutes`},
		{"bad bool", "high_contrast = \"maybe\"\n", `high_contrast: "maybe" is not true or false`},
		{"not toml", "idle_lock =\n", "toml"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".toml")
		os.WriteFile(p, []byte(tt.content), 0o600)
		c, err := loadConfig(p)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if tt.name == "all" && (*c.Vault != "/v.db" || *c.IdleLock != 0 || !*c.HighContrast || *c.AudioDevice != "USB" || *c.Log != "/l.log") {
			t.Errorf("all: %+v", c)
		}
	}
	if c, err := loadConfig(filepath.Join(dir, "missing.toml")); err != nil || c.IdleLock != nil {
		t.Errorf("a missing file is empty settings: %+v, %v", c, err)
	}
}

func TestConfigPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got, _ := configPath(env(map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"})); got != "/x/fieldcase/config.toml" {
		t.Errorf("with XDG_CONFIG_HOME: %s", got)
	}
	if got, _ := configPath(env(map[string]string{"HOME": "/h"})); got != "/h/.config/fieldcase/config.toml" {
		t.Errorf("default: %s", got)
	}
	if _, err := configPath(env(nil)); err == nil {
		t.Error("no HOME: no error")
	}
}

// The settings screen's choice goes through saveSetting: written, read
// back, and "" (the system's default) removes the key.
func TestSaveAudioDevice(t *testing.T) {
	dir := t.TempDir()
	a := &app{getenv: func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir}[k] }}
	path := filepath.Join(dir, "fieldcase", "config.toml")
	if err := a.saveSetting("audio_device", "USB headset: Audio (hw:1,0)"); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(path)
	if err != nil || c.AudioDevice == nil || *c.AudioDevice != "USB headset: Audio (hw:1,0)" {
		t.Fatalf("after save: %+v, %v", c, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file mode %v", fi.Mode().Perm())
	}
	if err := a.saveSetting("audio_device", ""); err != nil {
		t.Fatal(err)
	}
	if c, _ := loadConfig(path); c.AudioDevice != nil {
		t.Errorf("system default should unset the key: %q", *c.AudioDevice)
	}
}

// A flag beats its environment variable, which beats the settings file,
// which beats the default: for the TUI's flags and record's --device.
func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "fieldcase"), 0o700)
	os.WriteFile(filepath.Join(dir, "fieldcase", "config.toml"), []byte("idle_lock = 3\nhigh_contrast = true\naudio_device = \"from-file\"\n"), 0o600)
	parse := func(env map[string]string, args ...string) *CLI {
		t.Helper()
		for _, k := range []string{"FIELDCASE_IDLE_LOCK", "FIELDCASE_HIGH_CONTRAST", "FIELDCASE_AUDIO_DEVICE"} {
			t.Setenv(k, env[k]) // kong reads flags' variables from the process
			if env[k] == "" {
				os.Unsetenv(k)
			}
		}
		getenv := func(k string) string {
			if k == "XDG_CONFIG_HOME" {
				return env["XDG_CONFIG_HOME"]
			}
			return os.Getenv(k)
		}
		var g CLI
		a := &app{getenv: getenv, cli: &g}
		a.loadSettings(i18n.English())
		p, err := programWith(getenv, configResolver(a)).Parser(&g, io.Discard, io.Discard, func(int) {})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return &g
	}
	file := map[string]string{"XDG_CONFIG_HOME": dir}
	none := map[string]string{"XDG_CONFIG_HOME": t.TempDir()}
	withEnv := map[string]string{"XDG_CONFIG_HOME": dir, "FIELDCASE_IDLE_LOCK": "7", "FIELDCASE_AUDIO_DEVICE": "from-env"}
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		idle   int
		hc     bool
		device string
		record string
	}{
		{"default", none, nil, 10, false, "", ""},
		{"file", file, nil, 3, true, "from-file", ""},
		{"env over file", withEnv, nil, 7, true, "from-env", ""},
		{"flag over env", withEnv, []string{"--idle-lock", "1", "--audio-device", "from-flag"}, 1, true, "from-flag", ""},
		{"open takes them too", withEnv, []string{"open", "--idle-lock", "2"}, 2, true, "from-env", ""},
		{"record: file", file, []string{"record", "--case", "R"}, 10, false, "", "from-file"},
		{"record: env", withEnv, []string{"record", "--case", "R"}, 10, false, "", "from-env"},
		{"record: flag", withEnv, []string{"record", "--case", "R", "--device", "hw:1"}, 10, false, "", "hw:1"},
	}
	for _, tt := range tests {
		g := parse(tt.env, tt.args...)
		if tt.record != "" {
			if g.Record.Device != tt.record {
				t.Errorf("%s: record --device %q, want %q", tt.name, g.Record.Device, tt.record)
			}
			continue
		}
		if g.Open.IdleLock != tt.idle || g.Open.HighContrast != tt.hc || g.Open.AudioDevice != tt.device {
			t.Errorf("%s: idle %d high-contrast %v device %q; want %d %v %q", tt.name, g.Open.IdleLock, g.Open.HighContrast, g.Open.AudioDevice, tt.idle, tt.hc, tt.device)
		}
	}
}

// The config commands on the real binary, and the vault path's precedence
// through them: flag > FIELDCASE_VAULT > settings file > default.
func TestConfigCommands(t *testing.T) {
	home := t.TempDir()
	env := []string{"XDG_CONFIG_HOME=" + filepath.Join(home, "cfg"), "FIELDCASE_PASSPHRASE=" + demo.Passphrase}
	run := func(extra []string, args ...string) (string, string, int) {
		t.Helper()
		return fc(t, append(append([]string{}, env...), extra...), "", args...)
	}
	out, _, code := run(nil, "config", "path")
	if want := filepath.Join(home, "cfg", "fieldcase", "config.toml"); code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("config path: %q (exit %d), want %s", out, code, want)
	}
	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"set", "idle_lock", "5"}, 0, ""},
		{[]string{"set", "high_contrast", "on"}, 0, ""},
		{[]string{"set", "vault", filepath.Join(home, "from-config.db")}, 0, ""},
		{[]string{"set", "idle_lock", "soon"}, 1, `fieldcase: idle_lock: "soon" is not a number of minutes from 0 (never lock) to 1440`},
		{[]string{"set", "casenote", "x"}, 1, "fieldcase: unknown setting \"casenote\"\nhint: the settings are vault, idle_lock, high_contrast, audio_device, log"},
		{[]string{"set", "audio_device", ""}, 1, "hint: 'fieldcase config unset audio_device' goes back to the default"},
		{[]string{"set", "idle_lock"}, 2, "expected \"<value>\""},
	} {
		_, errOut, code := run(nil, append([]string{"config"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("config %v: exit %d, stderr %q; want %d, %q", tt.args, code, errOut, tt.code, tt.err)
		}
	}
	out, _, _ = run(nil, "config", "show")
	for _, want := range []string{"idle_lock = 5 ", "high_contrast = true ", `vault = "` + filepath.Join(home, "from-config.db") + `"`, "# audio_device (not set)"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
	// The vault named by each source, as the error for a missing vault shows.
	for _, tt := range []struct {
		extra []string
		args  []string
		want  string
	}{
		{nil, nil, "from-config.db"},
		{[]string{"FIELDCASE_VAULT=" + filepath.Join(home, "from-env.db")}, nil, "from-env.db"},
		{[]string{"FIELDCASE_VAULT=" + filepath.Join(home, "from-env.db")}, []string{"--vault", filepath.Join(home, "from-flag.db")}, "from-flag.db"},
	} {
		_, errOut, _ := run(tt.extra, append(tt.args, "case", "list")...)
		if !strings.Contains(errOut, "no vault there: "+filepath.Join(home, tt.want)) {
			t.Errorf("%v %v: %s; want the vault %s", tt.extra, tt.args, errOut, tt.want)
		}
	}
	// demo never writes to the settings' vault path.
	if out, errOut, code := fc(t, append([]string{"HOME=" + home}, env...), "", "demo", "--cases", "1"); code != 0 || strings.Contains(out, "from-config.db") {
		t.Errorf("demo: exit %d %s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(home, "from-config.db")); err == nil {
		t.Error("demo wrote to the configured vault path")
	}
	if out, _, _ := run(nil, "config", "unset", "vault"); !strings.Contains(out, "vault is back to its default") {
		t.Errorf("unset: %s", out)
	}

	// A broken file stops every command but config, which can mend it.
	os.WriteFile(filepath.Join(home, "cfg", "fieldcase", "config.toml"), []byte("idle_lock = \"ten\"\n"), 0o600)
	_, errOut, code := run(nil, "case", "list")
	if code != 1 || !strings.Contains(errOut, "fieldcase: settings file ") || !strings.Contains(errOut, "hint: fix it with 'fieldcase config set KEY VALUE'") {
		t.Errorf("broken file: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := run(nil, "config", "set", "idle_lock", "4"); code != 0 {
		t.Errorf("config set on a broken file: %s", errOut)
	}
	if _, errOut, code := run(nil, "config", "show"); code != 0 {
		t.Errorf("config show after mending: %s", errOut)
	}
}
