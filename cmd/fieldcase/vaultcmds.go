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
		return cli.WithHint(errors.New("a vault already exists at "+path), "open it with 'fieldcase', or choose another path with --vault")
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
	fprintf(a.stdout, "created vault %s\ndevice fingerprint %s\n", path, crypto.Fingerprint(r))
	return nil
}

type demoCmd struct {
	Cases int  `default:"200" help:"How many fictional cases."`
	Force bool `help:"Replace an existing demo vault (never a real one)."`
}

// demoPath is where `fieldcase demo` writes when no vault is named: never
// the user's real vault.
func (a *app) demoPath() string {
	if a.cli.Vault != "" {
		return a.cli.Vault
	}
	return filepath.Join(filepath.Dir(store.DefaultPath()), "demo.db")
}

func (c *demoCmd) Run(a *app) error {
	path := a.demoPath()
	if _, err := os.Stat(path); err == nil {
		v, err := store.Open(path, store.Options{})
		if err != nil {
			return err
		}
		isDemo := v.IsDemo()
		v.Close()
		if !isDemo {
			return cli.WithHint(errors.New(path+" holds a real vault"), "choose another path with --vault; demo never replaces real data")
		}
		if !c.Force {
			return cli.WithHint(errors.New("a demo vault already exists at "+path), "open it with 'fieldcase --vault "+path+"', or rebuild it with --force")
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	if c.Cases < 1 || c.Cases > 100000 {
		return errors.New("--cases must be between 1 and 100000")
	}
	v, err := store.Create(path, demo.Passphrase, demoProfile, store.Options{Demo: true, Program: "fieldcase demo"})
	if err != nil {
		return err
	}
	defer v.Close()
	if err := demo.Populate(v, demo.Options{Cases: c.Cases, Seed: 1, Today: time.Now()}); err != nil {
		os.Remove(path)
		return err
	}
	if err := storeDemoTeam(v, time.Now()); err != nil {
		os.Remove(path)
		return err
	}
	st, _ := v.Stats()
	fprintf(a.stdout, "created demo vault %s: %d cases, %d notes, %d consents, %d tasks\npassphrase: %s\n", path, st.Cases, st.Notes, st.Consents, st.Tasks, demo.Passphrase)
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
		return cli.WithHint(errNoPassphrase, "changing the passphrase needs a terminal")
	}
	defer tty.Close()
	old, err := a.promptHidden(tty, "Current passphrase: ")
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
	fprintf(a.stdout, "passphrase changed\n")
	return nil
}
