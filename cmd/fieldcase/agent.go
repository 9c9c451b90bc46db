package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/agent"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/tui"
)

type agentCmd struct {
	Start  agentStartCmd  `cmd:"" help:"Unlock the vault once; later commands need no passphrase until it has gone unused for the idle-lock time."`
	Status agentStatusCmd `cmd:"" help:"Say whether an unlock agent runs, for which vault, and until when."`
	Stop   agentStopCmd   `cmd:"" help:"Make the unlock agent forget the vault now."`
	Serve  agentServeCmd  `cmd:"" hidden:"" help:"The agent itself ('agent start' runs it)."`
}

func (agentCmd) Help() string {
	return "Every command otherwise asks for the passphrase and pays its key derivation (about a second). " +
		"The agent, like ssh-agent, keeps this vault's unlocked device identity in memory, on a socket only your " +
		"user can reach, and forgets it after the idle-lock time without a command, after --max in all, when a " +
		"terminal UI locks, or at 'fieldcase agent stop'. While it runs, any program running as your user can " +
		"read the vault: start it for a scripted session, not for the day."
}

type agentStartCmd struct {
	Idle int `placeholder:"MINUTES" help:"Forget the vault after this many minutes without a command (default: the idle_lock setting, else 10)."`
	Max  int `default:"480" placeholder:"MINUTES" help:"Forget the vault after this many minutes in any case."`
}

// agentGrant is what 'agent start' hands the agent process on its stdin.
type agentGrant struct {
	Vault    string `json:"vault"`
	Name     string `json:"name"`
	Identity string `json:"identity"`
}

func (c *agentStartCmd) Run(a *app) error {
	idle := c.Idle
	if idle == 0 && a.config != nil && a.config.IdleLock != nil {
		idle = *a.config.IdleLock
	}
	if idle == 0 {
		idle = int(tui.DefaultIdleLock / time.Minute)
	}
	if idle < 0 || c.Max <= 0 {
		return cli.WithHint(a.l.Error("agent.bad_minutes"), a.l.T("agent.bad_minutes_hint"))
	}
	path := agent.SocketPath(a.getenv)
	if st, err := agent.AskStatus(path); err == nil {
		return cli.WithHint(a.l.Error("agent.running", "Name", st.Name, "Ends", st.Ends.Local().Format("15:04")), a.l.T("agent.running_hint"))
	}
	v, err := a.unlock("fieldcase agent")
	if err != nil {
		return err
	}
	id, err := v.Identity()
	grant := agentGrant{Vault: v.VaultID(), Name: filepath.Base(a.vaultPath())}
	v.Close()
	if err != nil {
		return err
	}
	grant.Identity = id.Export()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("%s: %w", a.l.T("agent.starting"), err)
	}
	cmd := exec.Command(exe, "agent", "serve", "--socket", path,
		"--idle", fmt.Sprint(idle), "--max", fmt.Sprint(c.Max))
	cmd.Dir = "/" // hold no directory busy
	detach(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", a.l.T("agent.starting"), err)
	}
	b, _ := json.Marshal(grant)
	in.Write(append(b, '\n'))
	in.Close()
	// The agent says "ready" once it listens, or why it cannot.
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(io.LimitReader(out, 4096)).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var said string
	select {
	case said = <-line:
	case <-time.After(10 * time.Second):
		said = a.l.T("agent.no_answer")
	}
	if said != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		if said == "" {
			said = a.l.T("agent.exited")
		}
		return a.l.Error("agent.not_started", "Said", said)
	}
	cmd.Process.Release()
	fmt.Fprintln(a.stdout, a.l.T("agent.started", "Name", grant.Name, "Idle", idle, "Ends", time.Now().Add(time.Duration(c.Max)*time.Minute).Format("15:04")))
	fmt.Fprintln(a.stdout, a.l.T("agent.stop_hint"))
	return nil
}

type agentServeCmd struct {
	Socket string `required:"" help:"The socket to listen on."`
	Idle   int    `required:"" help:"Minutes without a request before it forgets."`
	Max    int    `required:"" help:"Minutes before it forgets in any case."`
}

func (c *agentServeCmd) Run(a *app) error {
	b, err := bufio.NewReader(io.LimitReader(a.stdin, 64<<10)).ReadBytes('\n')
	var g agentGrant
	if err == nil {
		err = json.Unmarshal(b, &g)
	}
	clear(b)
	if err != nil || g.Vault == "" || g.Identity == "" {
		fmt.Fprintln(a.stdout, a.l.T("agent.no_identity"))
		return a.l.Error("agent.serve_no_identity")
	}
	ln, err := agent.Listen(c.Socket)
	if err != nil {
		fmt.Fprintln(a.stdout, err)
		return err
	}
	ag := agent.New(g.Vault, g.Name, []byte(g.Identity), time.Duration(c.Idle)*time.Minute, time.Duration(c.Max)*time.Minute)
	g.Identity = ""
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		select {
		case <-sig:
			ag.Stop()
		case <-ag.Stopped():
		}
	}()
	fmt.Fprintln(a.stdout, "ready") // i18n: the word 'agent start' waits for, not for people
	if f, ok := a.stdout.(*os.File); ok {
		f.Close() // 'agent start' is waiting for this line only
	}
	ag.Serve(ln)
	return nil
}

type agentStatusCmd struct{}

func (agentStatusCmd) Run(a *app) error {
	st, err := agent.AskStatus(agent.SocketPath(a.getenv))
	if errors.Is(err, agent.ErrNotRunning) {
		fmt.Fprintln(a.stdout, a.l.T("agent.none_running"))
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, a.l.T("agent.status", "Name", st.Name, "IdleEnds", st.IdleEnds.Local().Format("15:04:05"), "Ends", st.Ends.Local().Format("15:04")))
	return nil
}

type agentStopCmd struct{}

func (agentStopCmd) Run(a *app) error {
	if err := agent.AskStop(agent.SocketPath(a.getenv)); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, a.l.T("agent.stopped"))
	return nil
}

// unlockFromAgent unlocks v with the identity a running unlock agent holds
// for it. ok is false when there is no agent or it holds another vault:
// then the passphrase is asked as usual.
func (a *app) unlockFromAgent(v *store.Vault) (ok bool) {
	path := agent.SocketPath(a.getenv)
	if _, err := os.Lstat(path); err != nil {
		return false
	}
	s, err := agent.Identity(path, v.VaultID())
	if err != nil {
		if !errors.Is(err, agent.ErrNotRunning) && !errors.Is(err, agent.ErrNotHeld) {
			fmt.Fprintf(a.stderr, "fieldcase: %s\n", a.lang().T("agent.ask_instead", "Err", err)) // i18n: the program's name, as its error path writes it
		}
		return false
	}
	id, err := crypto.ParseIdentityString(s)
	if err == nil {
		err = v.UnlockIdentity(id)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldcase: %s\n", a.lang().T("agent.identity_failed", "Err", err)) // i18n: the program's name, as above
		return false
	}
	return true
}

// stopAgent is the terminal UI's lock: a locked screen leaves no agent
// holding the vault open behind it.
func (a *app) stopAgent() {
	agent.AskStop(agent.SocketPath(a.getenv))
}
