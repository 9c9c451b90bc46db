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
func pedalField(f func(p *pedalConfig) **string, help string, check func(*i18n.Locale, string) (string, error)) setting {
	return setting{text: true, help: help,
		set: func(c *config, v string, l *i18n.Locale) error {
			if c.Pedal == nil {
				c.Pedal = &pedalConfig{}
			}
			v, err := check(l, v)
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
	codes := func(_ *i18n.Locale, v string) (string, error) {
		_, err := pedal.ParseCodes(v)
		return strings.TrimSpace(v), err
	}
	ss := []setting{
		pedalField(func(p *pedalConfig) **string { return &p.Device }, "setting.pedal.device", settingPath),
		pedalField(func(p *pedalConfig) **string { return &p.Rewind }, "setting.pedal.rewind", codes),
		pedalField(func(p *pedalConfig) **string { return &p.Play }, "setting.pedal.play", codes),
		pedalField(func(p *pedalConfig) **string { return &p.Forward }, "setting.pedal.forward", codes),
		pedalField(func(p *pedalConfig) **string { return &p.AutoRewind }, "setting.pedal.auto_rewind", parseAutoRewind),
	}
	for i, k := range []string{"device", "rewind", "play", "forward", "auto_rewind"} {
		ss[i].key = "pedal." + k
	}
	return ss
}

// parseAutoRewind reads a duration from 0 to 10 seconds ("2s", "1.5s";
// a bare number is seconds) and gives it back as Go spells it.
func parseAutoRewind(l *i18n.Locale, v string) (string, error) {
	t := strings.TrimSpace(v)
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		t += "s"
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 || d > 10*time.Second {
		return v, l.Error("config.bad_auto_rewind", "Value", strconv.Quote(v))
	}
	return d.String(), nil
}

// setting is one key of the file.
type setting struct {
	key   string
	env   string   // the environment variable that overrides it, if any
	text  bool     // a string (quoted in TOML), not a number or a boolean
	flags []string // the flags it is the default of: "idle-lock", or "record device" for a command's flag
	help  string   // the id of its explanation in the catalogue
	// set validates a value given as text and stores it, saying what is
	// wrong in l's language; get returns the stored value as text, ok false
	// when unset; unset clears it.
	set   func(c *config, value string, l *i18n.Locale) error
	get   func(c *config) (string, bool)
	unset func(c *config)
}

var settings = []setting{
	{key: "vault", text: true, env: "FIELDCASE_VAULT", flags: []string{"vault"}, help: "setting.vault",
		set: func(c *config, v string, l *i18n.Locale) error {
			p, err := settingPath(l, v)
			c.Vault = &p
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.Vault) }, unset: func(c *config) { c.Vault = nil }},
	{key: "idle_lock", env: "FIELDCASE_IDLE_LOCK", flags: []string{"idle-lock"}, help: "setting.idle_lock",
		set: func(c *config, v string, l *i18n.Locale) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 || n > 24*60 {
				return l.Error("config.bad_idle_lock", "Value", strconv.Quote(v))
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
	{key: "high_contrast", env: "FIELDCASE_HIGH_CONTRAST", flags: []string{"high-contrast"}, help: "setting.high_contrast",
		set: func(c *config, v string, l *i18n.Locale) error {
			b, err := parseBool(l, v)
			c.HighContrast = &b
			return err
		},
		get: func(c *config) (string, bool) {
			if c.HighContrast == nil {
				return "", false
			}
			return strconv.FormatBool(*c.HighContrast), true
		}, unset: func(c *config) { c.HighContrast = nil }},
	{key: "audio_device", text: true, env: "FIELDCASE_AUDIO_DEVICE", flags: []string{"audio-device", "record device"}, help: "setting.audio_device",
		set: func(c *config, v string, l *i18n.Locale) error {
			if strings.TrimSpace(v) == "" {
				return l.Error("config.empty_audio_device")
			}
			c.AudioDevice = &v
			return nil
		},
		get: func(c *config) (string, bool) { return deref(c.AudioDevice) }, unset: func(c *config) { c.AudioDevice = nil }},
	{key: "log", text: true, flags: []string{"log"}, help: "setting.log",
		set: func(c *config, v string, l *i18n.Locale) error {
			p, err := settingPath(l, v)
			c.Log = &p
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.Log) }, unset: func(c *config) { c.Log = nil }},
	{key: "date_order", text: true, help: "setting.date_order",
		set: func(c *config, v string, _ *i18n.Locale) error {
			o, err := when.ParseOrder(v)
			s := o.String()
			c.DateOrder = &s
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.DateOrder) }, unset: func(c *config) { c.DateOrder = nil }},
	{key: "turnaround", text: true, help: "setting.turnaround",
		set: func(c *config, v string, _ *i18n.Locale) error {
			r, err := dictation.ParseDueRules(v)
			s := r.String()
			c.Turnaround = &s
			return err
		},
		get: func(c *config) (string, bool) { return deref(c.Turnaround) }, unset: func(c *config) { c.Turnaround = nil }},
	{key: "lang", text: true, flags: []string{"lang"}, help: "setting.lang",
		set: func(c *config, v string, _ *i18n.Locale) error {
			named, err := i18n.New(v)
			if err != nil {
				return err
			}
			s := named.Tag().String()
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

func parseBool(l *i18n.Locale, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, l.Error("config.bad_bool", "Value", strconv.Quote(v))
}

// settingPath makes a path absolute (a relative path in a settings file
// would depend on where the next command runs), expanding ~.
func settingPath(l *i18n.Locale, v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", l.Error("config.empty_path")
	}
	return filepath.Abs(kong.ExpandPath(v))
}

func settingNamed(l *i18n.Locale, key string) (*setting, error) {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i], nil
		}
	}
	var keys []string
	for _, s := range settings {
		keys = append(keys, s.key)
	}
	return nil, cli.WithHint(l.Error("config.unknown", "Key", strconv.Quote(key)), l.T("config.unknown_hint", "Keys", strings.Join(keys, ", ")))
}

// errNoSettingsFile is configPath's error when there is nowhere to look
// (translated where it is reported: see messageFor).
var errNoSettingsFile = errors.New("no settings file: neither XDG_CONFIG_HOME nor HOME is set") // i18n: messageFor says it in the run's language

// configPath is where the settings file is.
func configPath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errNoSettingsFile
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "fieldcase", "config.toml"), nil
}

// loadConfig reads the settings file; a missing one is empty. Every value
// is checked as 'config set' checks it; what is wrong is said in English.
func loadConfig(path string) (*config, error) { return loadConfigExcept(i18n.English(), path, "") }

// loadConfigExcept is loadConfig leaving out one key, the one about to be
// set or unset: so a bad value can be mended with 'config set'. Errors are
// in l's language.
func loadConfigExcept(l *i18n.Locale, path, except string) (*config, error) {
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
		s, err := settingNamed(l, k)
		if err != nil {
			return nil, err
		}
		v := loose[k]
		text, ok := v.(string)
		if !ok {
			text = fmt.Sprint(v)
		}
		if err := s.set(&c, text, l); err != nil {
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
// Its errors are in l's language: run reads the file again in the run's
// language when it is broken (the file may name the language).
func (a *app) loadSettings(l *i18n.Locale) {
	a.config, a.configErr = &config{}, nil
	path, err := configPath(a.getenv)
	if err != nil {
		return // no HOME (cron, a bare environment): no settings file to read
	}
	if a.config, err = loadConfigExcept(l, path, ""); err != nil {
		a.config = &config{}
		a.configErr = cli.WithHint(fmt.Errorf("%s: %w", l.T("config.file", "Path", path), err), l.T("config.file_hint"))
	}
}

// lang is the run's language; English for an app made without one (tests).
func (a *app) lang() *i18n.Locale {
	if a.l == nil {
		return i18n.English()
	}
	return a.l
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
	l := a.lang()
	s, err := settingNamed(l, key)
	if err != nil {
		return err
	}
	c, err := loadConfigExcept(l, path, key)
	if err != nil {
		return fmt.Errorf("%s: %w", l.T("config.file", "Path", path), err)
	}
	if value == "" {
		s.unset(c)
	} else if err := s.set(c, value, l); err != nil {
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
	return configHelp(i18n.English())
}

// configHelp is config's long help in l's language: help.detail.config
// in other languages is this, as kong shows it.
func configHelp(l *i18n.Locale) string {
	var b strings.Builder
	b.WriteString(l.T("config.help") + "\n\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "  %-18s %s\n", s.key, l.T(s.help)) // i18n: the ids are settings' help
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
		line, note := "# "+a.l.T("config.not_set", "Key", s.key), a.l.T(s.help) // i18n: the ids are settings' help
		if v, ok := s.get(a.config); ok {
			if s.text {
				v = strconv.Quote(v)
			}
			line = s.key + " = " + v
		}
		if s.env != "" && a.getenv(s.env) != "" {
			note += "; " + a.l.T("config.env_wins", "Env", s.env)
		}
		if _, ok := s.get(a.config); !ok && s.key == "date_order" {
			note += "; " + a.l.T("config.order_from_locale", "Order", a.dateOrder().String())
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
	if _, err := settingNamed(a.l, c.Key); err != nil {
		return err
	}
	if c.Value == "" {
		return cli.WithHint(a.l.Error("config.empty_value", "Key", c.Key), a.l.T("config.empty_value_hint", "Key", c.Key))
	}
	if err := a.saveSetting(c.Key, c.Value); err != nil {
		return err
	}
	path, _ := configPath(a.getenv)
	fprintf(a.stdout, "%s\n", a.l.T("config.set", "Key", c.Key, "Path", path))
	return nil
}

type configUnsetCmd struct {
	Key string `arg:"" help:"The setting."`
}

func (c *configUnsetCmd) Run(a *app) error {
	if err := a.saveSetting(c.Key, ""); err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("config.unset", "Key", c.Key))
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
