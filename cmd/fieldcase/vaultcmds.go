package main

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/internal/demo"
	"github.com/fieldcase/fieldcase/store"
)

type initCmd struct {
	Name string `help:"Your name, as notes will show their author."`
}

func (c *initCmd) Run(a *app) error {
	path := a.vaultPath()
	if _, err := os.Stat(path); err == nil {
		return cli.WithHint(a.l.Error("vault.exists", "Path", path), a.l.T("vault.exists_hint"))
	}
	pass, err := a.newPassphrase(c.Name)
	if err != nil {
		return err
	}
	v, err := store.Create(path, pass, store.Profile{Name: c.Name}, store.Options{Program: "fieldcase init"})
	if err != nil {
		return err
	}
	defer v.Close()
	r, _ := v.Recipient()
	fprintf(a.stdout, "%s\n%s\n", a.l.T("vault.created", "Path", path), a.l.T("vault.fingerprint", "Fingerprint", crypto.Fingerprint(r)))
	return nil
}

type demoCmd struct {
	Cases int    `default:"200" help:"How many fictional cases (the team's: a caseworker or a typist holds some of them)."`
	As    string `default:"supervisor" enum:"supervisor,caseworker,typist" placeholder:"ROLE" help:"Whose laptop: supervisor (the default: the team's cases and the team view), caseworker (their own caseload), typist (dictations waiting for typing)."`
	Force bool   `help:"Replace an existing demo vault (never a real one)."`
}

func (demoCmd) Help() string {
	return "Every persona's vault is cut from the same fictional team: the supervisor holds every case, the caseworker " +
		demo.CaseworkerName + " their own, the typist the cases with dictations submitted for typing. Each has its own " +
		"file unless --vault names one.\n\n" + cli.Examples(
		`fieldcase demo                   # the supervisor's; then: fieldcase --vault <the path it prints>`,
		`fieldcase demo --as typist       # the typing queue: W in the TUI`,
		`fieldcase demo --as caseworker   # a caseworker's day: a in the TUI, or fieldcase agenda`)
}

// demoPath is where `fieldcase demo` writes when no vault is named: never
// the user's real vault, and one file per persona.
func (a *app) demoPath(p demo.Persona) string {
	if a.cli.Vault != "" {
		return a.cli.Vault
	}
	name := "demo.db"
	if p != demo.Supervisor {
		name = "demo-" + string(p) + ".db"
	}
	return filepath.Join(filepath.Dir(store.DefaultPath()), name)
}

func (c *demoCmd) Run(a *app) error {
	persona, err := demo.ParsePersona(c.As)
	if err != nil {
		return err
	}
	path := a.demoPath(persona)
	if _, err := os.Stat(path); err == nil {
		v, err := store.Open(path, store.Options{})
		if err != nil {
			return err
		}
		isDemo := v.IsDemo()
		v.Close()
		if !isDemo {
			return cli.WithHint(a.l.Error("demo.real_vault", "Path", path), a.l.T("demo.real_vault_hint"))
		}
		if !c.Force {
			return cli.WithHint(a.l.Error("demo.exists", "Path", path), a.l.T("demo.exists_hint", "Path", path))
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	if c.Cases < 1 || c.Cases > 100000 {
		return a.l.Error("demo.cases_range")
	}
	profile := persona.Profile()
	v, err := store.Create(path, demo.Passphrase, profile, store.Options{Demo: true, Program: "fieldcase demo"})
	if err != nil {
		return err
	}
	fail := func(err error) error {
		v.Close()
		os.Remove(path)
		return err
	}
	held, err := demo.PopulateFor(v, persona, demo.Options{Cases: c.Cases, Seed: 1, Today: time.Now()})
	if errors.Is(err, demo.ErrNothingHeld) {
		return fail(cli.WithHint(err, a.l.T("demo.nothing_held_hint")))
	}
	if err != nil {
		return fail(err)
	}
	if persona == demo.Supervisor {
		if err := storeDemoTeam(v, time.Now()); err != nil {
			return fail(err)
		}
	}
	defer v.Close()
	st, _ := v.Stats()
	fprintf(a.stdout, "%s\n", a.l.T("demo.created", "Path", path, "Cases", st.Cases, "Notes", st.Notes,
		"Consents", st.Consents, "Tasks", st.Tasks, "Recordings", held.Recordings))
	fprintf(a.stdout, "%s\n%s\n", a.l.T("demo.laptop", "Name", profile.Name, "Role", profile.Role, "Team", profile.Team),
		a.l.T("demo.passphrase", "Passphrase", demo.Passphrase))
	switch persona {
	case demo.Caseworker:
		fprintf(a.stdout, "%s\n", a.l.T("demo.caseworker_day"))
	case demo.Typist:
		fprintf(a.stdout, "%s\n", a.l.T("demo.typist_queue"))
	}
	return nil
}

type passwdCmd struct{}

func (c *passwdCmd) Run(a *app) error {
	v, err := store.Open(a.vaultPath(), store.Options{Program: "fieldcase passwd"})
	if err != nil {
		return err
	}
	defer v.Close()
	tty, err := openTTY()
	if err != nil {
		return cli.WithHint(a.l.Error("pass.none"), a.l.T("passwd.needs_terminal"))
	}
	defer tty.Close()
	old, err := a.promptHidden(tty, a.l.T("passwd.current")+" ")
	if err != nil {
		return err
	}
	if err := v.Unlock(old); err != nil {
		return err
	}
	nw, err := a.newPassphrase(v.Profile().Name)
	if err != nil {
		return err
	}
	if err := v.ChangePassphrase(old, nw); err != nil {
		return err
	}
	fprintf(a.stdout, "%s\n", a.l.T("passwd.changed"))
	return nil
}
