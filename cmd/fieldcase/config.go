package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/internal/pedal"
	"github.com/fieldcase/fieldcase/internal/when"
)

// The settings file: $XDG_CONFIG_HOME/fieldcase/config.toml (by default
// ~/.config/fieldcase/config.toml). It holds the defaults of a few flags,
// and the microphone chosen in the TUI's settings. Never case data: only
// the keys below exist, and an unknown key is an error. A flag beats its
// environment variable, which beats the file, which beats the built-in
// default.

// config is the file's content; nil means not set.
type config struct {
	Vault        *string           `toml:"vault,omitempty"`
	IdleLock     *int              `toml:"idle_lock,omitempty"`
	HighContrast *bool             `toml:"high_contrast,omitempty"`
	AudioDevice  *string           `toml:"audio_device,omitempty"`
	Log          *string           `toml:"log,omitempty"`
	DateOrder    *string           `toml:"date_order,omitempty"`
	Turnaround   *string           `toml:"turnaround,omitempty"`
	Lang         *string           `toml:"lang,omitempty"`
	Pedal        *pedalConfig      `toml:"pedal,omitempty"`
	Recogniser   *recogniserConfig `toml:"recogniser,omitempty"`
}

// pedalConfig is the [pedal] table: the transcription foot pedal.
type pedalConfig struct {
	Device     *string `toml:"device,omitempty"`
	Rewind     *string `toml:"rewind,omitempty"`
	Play       *string `toml:"play,omitempty"`
	Forward    *string `toml:"forward,omitempty"`
	AutoRewind *string `toml:"auto_rewind,omitempty"`
}

// pedalField is a [pedal] setting: f picks its field, made when asked.
func pedalField(f func(p *pedalConfig) **string, help string, check func(string) (string, error)) setting {
	return setting{text: true, help: help,
		set: func(c *config, v string) error {
			if c.Pedal == nil {
				c.Pedal = &pedalConfig{}
			}
			v, err := check(v)
			*f(c.Pedal) = &v
			return err
		},
		get: func(c *config) (string, bool) {
			if c.Pedal == nil {
				return "", false
			}
			return deref(*f(c.Pedal))
		},
		unset: func(c *config) {
			if c.Pedal == nil {
				return
			}
			*f(c.Pedal) = nil
			if *c.Pedal == (pedalConfig{}) {
				c.Pedal = nil // no empty [pedal] table
			}
		}}
}

// pedalSettings are the keys of the [pedal] table, as pedal.KEY.
func pedalSettings() []setting {
	codes := func(v string) (string, error) {
		_, err := pedal.ParseCodes(v)
		return strings.TrimSpace(v), err
	}
	ss := []setting{
		pedalField(func(p *pedalConfig) **string { return &p.Device }, "the foot pedal's device, e.g. /dev/input/by-id/usb-VEC_VEC_USB_Footpedal-event-if00 or /dev/hidraw0; default: the first pedal-like name in /dev/input/by-id ('fieldcase pedal list')", settingPath),
		pedalField(func(p *pedalConfig) **string { return &p.Rewind }, "the key code(s) of the rewind pedal, e.g. BTN_0 or KEY_A,KEY_F13 ('fieldcase pedal test' shows them); default BTN_0", codes),
		pedalField(func(p *pedalConfig) **string { return &p.Play }, "the key code(s) of the play pedal; default BTN_1", codes),
		pedalField(func(p *pedalConfig) **string { return &p.Forward }, "the key code(s) of the forward pedal; default BTN_2", codes),
		pedalField(func(p *pedalConfig) **string { return &p.AutoRewind }, "how far playback goes back when the play pedal is let go (or f9 resumes), e.g. 2s or 1.5s; 0s for none; default 2s", parseAutoRewind),
	}
	for i, k := range []string{"device", "rewind", "play", "forward", "auto_rewind"} {
		ss[i].key = "pedal." + k
	}
	return ss
}

// parseAutoRewind reads a duration from 0 to 10 seconds ("2s", "1.5s";
// a bare number is seconds) and gives it back as Go spells it.
func parseAutoRewind(v string) (string, error) {
	t := strings.TrimSpace(v)
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		t += "s"
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 || d > 10*time.Second {
		return v, fmt.Errorf("%q is not a time from 0s to 10s, such as 2s or 1.5s", v)
	}
	return d.String(), nil
}

// setting is one key of the file.
type setting struct {
	key   string
	env   string   // the environment variable that overrides it, if any
	text  bool     // a string (quoted in TOML), not a number or a boolean
	flags []string // the flags it is the default of: "idle-lock", or "record device" for a command's flag
	help  string
	// set validates a value given as text and stores it; get returns the
	// stored value as text, ok false when unset; unset clears it.
	set   func(c *config, value string) error
	get   func(c *config) (string, bool)
	unset func(c *config)
}

var settings = []setting{
	{key: "vault", text: true, env: "FIELDCASE_VAULT", flags: []string{"vault"}, help: "the vault file (not used by 'fieldcase demo')",
		set: func(c *config, v string) error {
			p, err := settingPath(v)
			c.Vault = &p
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.Vault) }, unset: func(c *config) { c.Vault = nil }},
	{key: "idle_lock", env: "FIELDCASE_IDLE_LOCK", flags: []string{"idle-lock"}, help: "minutes without a key press before the TUI locks; 0 never",
		set: func(c *config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || n > 24*60 {
				return fmt.Errorf("%q is not a number of minutes from 0 (never lock) to 1440", v)
			}
			c.IdleLock = &n
			return nil
		},
		get: func(c *config) (string, bool) {
			if c.IdleLock == nil {
				return "", false
			}
			return strconv.Itoa(*c.IdleLock), true
		}, unset: func(c *config) { c.IdleLock = nil }},
	{key: "high_contrast", env: "FIELDCASE_HIGH_CONTRAST", flags: []string{"high-contrast"}, help: "the TUI's high-contrast colours: true or false",
		set: func(c *config, v string) error {
			b, err := parseBool(v)
			c.HighContrast = &b
			return err
		},
		get: func(c *config) (string, bool) {
			if c.HighContrast == nil {
				return "", false
			}
			return strconv.FormatBool(*c.HighContrast), true
		}, unset: func(c *config) { c.HighContrast = nil }},
	{key: "audio_device", text: true, env: "FIELDCASE_AUDIO_DEVICE", flags: []string{"audio-device", "record device"}, help: "the microphone for dictation (name or index); the TUI's settings (,) write it",
		set: func(c *config, v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New(`an empty name; to use the system's microphone, run 'fieldcase config unset audio_device'`)
			}
			c.AudioDevice = &v
			return nil
		},
		get: func(c *config) (string, bool) { return deref(c.AudioDevice) }, unset: func(c *config) { c.AudioDevice = nil }},
	{key: "log", text: true, flags: []string{"log"}, help: "the TUI's diagnostics log file",
		set: func(c *config, v string) error {
			p, err := settingPath(v)
			c.Log = &p
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.Log) }, unset: func(c *config) { c.Log = nil }},
	{key: "date_order", text: true, help: "how all-number dates are read: dmy (14/12/2026), mdy (12/14/2026) or ymd (2026/12/14); default from the locale (LC_ALL, LC_TIME, LANG: mdy for en_US, dmy for most); 2026-12-14 is always read",
		set: func(c *config, v string) error {
			o, err := when.ParseOrder(v)
			s := o.String()
			c.DateOrder = &s
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.DateOrder) }, unset: func(c *config) { c.DateOrder = nil }},
	{key: "turnaround", text: true, help: "working days a typist has for a dictation, per priority (and work type: court report=3 caps it), from its submission (weekends skipped): default urgent=1,high=2,normal=5. Only a fallback: the agency's signed due rules, when it has set any, win (fieldcase team due-rules)",
		set: func(c *config, v string) error {
			r, err := dictation.ParseDueRules(v)
			s := r.String()
			c.Turnaround = &s
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.Turnaround) }, unset: func(c *config) { c.Turnaround = nil }},
	{key: "lang", text: true, flags: []string{"lang"}, help: "the language of messages: en (English) or cy (Welsh); default from the locale (LC_ALL, LC_MESSAGES, LANG), English when fieldcase has none for it",
		set: func(c *config, v string) error {
			l, err := i18n.New(v)
			if err != nil {
				return err
			}
			s := l.Tag().String()
			c.Lang = &s
			return nil
		},
		get: func(c *config) (string, bool) { return deref(c.Lang) }, unset: func(c *config) { c.Lang = nil }},
}

func init() { settings = append(settings, pedalSettings()...) }

func deref(s *string) (string, bool) {
	if s == nil {
		return "", false
	}
	return *s, true
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// settingPath makes a path absolute (a relative path in a settings file
// would depend on where the next command runs), expanding ~.
func settingPath(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", errors.New("an empty path")
	}
	return filepath.Abs(kong.ExpandPath(v))
}

func settingNamed(key string) (*setting, error) {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i], nil
		}
	}
	var keys []string
	for _, s := range settings {
		keys = append(keys, s.key)
	}
	return nil, cli.WithHint(fmt.Errorf("unknown setting %q", key), "the settings are "+strings.Join(keys, ", "))
}

// configPath is where the settings file is.
func configPath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("no settings file: neither XDG_CONFIG_HOME nor HOME is set")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "fieldcase", "config.toml"), nil
}

// loadConfig reads the settings file; a missing one is empty. Every value
// is checked as 'config set' checks it.
func loadConfig(path string) (*config, error) { return loadConfigExcept(path, "") }

// loadConfigExcept is loadConfig leaving out one key, the one about to be
// set or unset: so a bad value can be mended with 'config set'.
func loadConfigExcept(path, except string) (*config, error) {
	var c config
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &c, nil
	}
	if err != nil {
		return nil, err
	}
	var loose map[string]any
	if _, err := toml.Decode(string(raw), &loose); err != nil {
		return nil, err
	}
	// A table's keys are TABLE.KEY ("pedal.device").
	flat := map[string]any{}
	for k, v := range loose {
		t, ok := v.(map[string]any)
		if !ok {
			flat[k] = v
			continue
		}
		for sub, sv := range t {
			flat[k+"."+sub] = sv
		}
	}
	loose = flat
	keys := make([]string, 0, len(loose))
	for k := range loose {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == except {
			continue
		}
		s, err := settingNamed(k)
		if err != nil {
			return nil, err
		}
		v := loose[k]
		text, ok := v.(string)
		if !ok {
			text = fmt.Sprint(v)
		}
		if err := s.set(&c, text); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return &c, nil
}

// saveConfig writes the settings file whole, through a temporary file, so
// it is never half written.
func saveConfig(path string, c *config) error {
	var b bytes.Buffer
	b.WriteString("# fieldcase settings: 'fieldcase config set KEY VALUE' changes them, 'fieldcase config show' explains them.\n")
	b.WriteString("# Flags and FIELDCASE_* environment variables override what is here. No case data belongs in this file.\n")
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writePrivate(path, func(w io.Writer) error {
		_, err := w.Write(b.Bytes())
		return err
	})
}

// loadSettings reads the settings file for this run (in run, before
// parsing); a broken file is reported before any command but 'config' runs.
func (a *app) loadSettings() {
	a.config = &config{}
	path, err := configPath(a.getenv)
	if err != nil {
		return // no HOME (cron, a bare environment): no settings file to read
	}
	if a.config, err = loadConfig(path); err != nil {
		a.config = &config{}
		a.configErr = cli.WithHint(fmt.Errorf("settings file %s: %w", path, err),
			"fix it with 'fieldcase config set KEY VALUE' or 'fieldcase config unset KEY', or in an editor")
	}
}

// checkSettings stops every command but 'config' on a broken settings file.
func (a *app) checkSettings(kctx *kong.Context) error {
	if a.configErr != nil && !strings.HasPrefix(kctx.Command(), "config") {
		return a.configErr
	}
	return nil
}

// dateOrder is the agency's order of all-number dates: the settings
// file's date_order, else the locale's.
// localDueRules are the turnaround setting, or nil when it is unset. The
// agency's signed due rules win over it (dictation.DuePolicyOf).
func (a *app) localDueRules() dictation.DueRules {
	if a.config != nil && a.config.Turnaround != nil {
		if r, err := dictation.ParseDueRules(*a.config.Turnaround); err == nil {
			return r
		}
	}
	return nil
}

func (a *app) dateOrder() when.DateOrder {
	if a.config != nil && a.config.DateOrder != nil {
		if o, err := when.ParseOrder(*a.config.DateOrder); err == nil {
			return o
		}
	}
	return when.LocaleOrder(a.getenv)
}

// configResolver gives flags their defaults from the settings file, unless
// the flag's environment variable is set.
func configResolver(a *app) kong.Resolver {
	return kong.ResolverFunc(func(kctx *kong.Context, path *kong.Path, flag *kong.Flag) (any, error) {
		if a.config == nil || a.configErr != nil {
			return nil, nil
		}
		for _, env := range flag.Envs {
			if a.getenv(env) != "" {
				return nil, nil
			}
		}
		name := flag.Name // the program's and the TUI's flags
		if cmd := path.Command; cmd != nil && cmd.Name != "open" {
			name = strings.Join(append(commandWords(cmd), flag.Name), " ") // a command's own: "record device"
		}
		if flag.Name == "vault" && (a.getenv("FIELDCASE_VAULT") != "" || kctx.Command() == "demo") {
			return nil, nil // the environment wins; a demo never goes to the real vault's path
		}
		for _, s := range settings {
			if slices.Contains(s.flags, name) {
				if v, ok := s.get(a.config); ok {
					return v, nil
				}
			}
		}
		return nil, nil
	})
}

// commandWords is a command's words after the program name.
func commandWords(n *kong.Node) []string {
	var words []string
	for ; n != nil && n.Type != kong.ApplicationNode; n = n.Parent {
		words = append([]string{n.Name}, words...)
	}
	return words
}

// saveSetting changes one key of the settings file ("" unsets it).
func (a *app) saveSetting(key, value string) error {
	path, err := configPath(a.getenv)
	if err != nil {
		return err
	}
	s, err := settingNamed(key)
	if err != nil {
		return err
	}
	c, err := loadConfigExcept(path, key)
	if err != nil {
		return fmt.Errorf("settings file %s: %w", path, err)
	}
	if value == "" {
		s.unset(c)
	} else if err := s.set(c, value); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return saveConfig(path, c)
}

type configCmd struct {
	Show  configShowCmd  `cmd:"" help:"Print every setting, its value and where the value comes from."`
	Set   configSetCmd   `cmd:"" help:"Change a setting."`
	Unset configUnsetCmd `cmd:"" help:"Go back to a setting's default."`
	Path  configPathCmd  `cmd:"" help:"Print where the settings file is."`
}

// Help is shown by 'fieldcase config --help'.
func (configCmd) Help() string {
	var b strings.Builder
	b.WriteString("Settings live in $XDG_CONFIG_HOME/fieldcase/config.toml (default ~/.config/fieldcase/config.toml). A flag beats its FIELDCASE_* environment variable, which beats the file, which beats the default. The settings:\n\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "  %-18s %s\n", s.key, s.help)
	}
	return b.String()
}

type configShowCmd struct{}

func (c *configShowCmd) Run(a *app) error {
	path, err := configPath(a.getenv)
	if err != nil {
		return err
	}
	if a.configErr != nil {
		return a.configErr
	}
	fprintf(a.stdout, "# %s\n", path)
	tw := table(a.stdout)
	for _, s := range settings {
		line, note := "# "+s.key+" (not set)", s.help
		if v, ok := s.get(a.config); ok {
			if s.text {
				v = strconv.Quote(v)
			}
			line = s.key + " = " + v
		}
		if s.env != "" && a.getenv(s.env) != "" {
			note += "; " + s.env + " is set and wins"
		}
		if _, ok := s.get(a.config); !ok && s.key == "date_order" {
			note += "; now " + a.dateOrder().String() + ", from the locale"
		}
		fmt.Fprintf(tw, "%s\t# %s\n", line, note)
	}
	return tw.Flush()
}

type configSetCmd struct {
	Key   string `arg:"" help:"The setting: vault, idle_lock, high_contrast, audio_device, log, date_order, or pedal.device, pedal.rewind, pedal.play, pedal.forward, pedal.auto_rewind."`
	Value string `arg:"" help:"Its new value."`
}

func (c *configSetCmd) Run(a *app) error {
	if _, err := settingNamed(c.Key); err != nil {
		return err
	}
	if c.Value == "" {
		return cli.WithHint(fmt.Errorf("%s: an empty value", c.Key), "'fieldcase config unset "+c.Key+"' goes back to the default")
	}
	if err := a.saveSetting(c.Key, c.Value); err != nil {
		return err
	}
	path, _ := configPath(a.getenv)
	fprintf(a.stdout, "%s set in %s\n", c.Key, path)
	return nil
}

type configUnsetCmd struct {
	Key string `arg:"" help:"The setting."`
}

func (c *configUnsetCmd) Run(a *app) error {
	if err := a.saveSetting(c.Key, ""); err != nil {
		return err
	}
	fprintf(a.stdout, "%s is back to its default\n", c.Key)
	return nil
}

type configPathCmd struct{}

func (c *configPathCmd) Run(a *app) error {
	path, err := configPath(a.getenv)
	if err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", path)
	return nil
}
