package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"
)

// CLI is fieldcase-load's command line.
type CLI struct {
	Devices   int           `default:"50" help:"Devices to simulate (two per user)."`
	Teams     int           `default:"5" help:"Teams the users are spread over (the first user of each is a supervisor)."`
	Duration  time.Duration `default:"30s" help:"How long the load runs (at most 10m)."`
	Interval  time.Duration `default:"2s" help:"Time between one device's sync rounds (jittered ±50%); 0: back to back."`
	Batch     int           `default:"10" help:"Revisions per push."`
	Body      int           `default:"1024" help:"Bytes of sealed body per revision."`
	PullLimit int           `default:"500" help:"Revisions per pull page."`

	Fieldcased string   `help:"The fieldcased binary to start (default: next to this one, then on PATH)." type:"path"`
	DB         string   `name:"db" help:"Start fieldcased over this PostgreSQL database (empty: bbolt)." env:"FIELDCASE_LOAD_DB"`
	ServerArgs []string `name:"server-arg" help:"Extra arguments for fieldcased serve (repeatable)."`

	Server string `help:"Load this running server (http://127.0.0.1:PORT) instead of starting one."`
	Data   string `help:"With --server: its data directory (for the admin socket)." type:"path"`
	PID    int    `name:"pid" help:"With --server: its process id, for CPU and memory figures."`

	Verify bool `help:"Check at the end, per device, that the server holds every revision it acknowledged and that the device pulled every revision it may see (repairing, as a device does, when the server goes back: a failover, a restore). Each round also reads the server's log and proves the last revision pulled in it, as the real client does. Keeps every acknowledged revision in memory."`

	JSON bool `name:"json" help:"Print the result as JSON."`
}

var program = cli.Program{
	Name:        "fieldcase-load",
	Description: "Simulate many fieldcase devices syncing with a fieldcased on this machine, and report throughput and latency.",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c CLI
	os.Exit(program.Run(&c, os.Args[1:], os.Stdout, os.Stderr, &app{ctx: ctx, stdout: os.Stdout, stderr: os.Stderr}))
}

// app is what Run needs besides the flags.
type app struct {
	ctx            context.Context
	stdout, stderr io.Writer
}

func (c *CLI) Run(a *app) error {
	ctx := a.ctx
	if c.Devices < 2 || c.Teams < 1 || c.Devices/2 < c.Teams {
		return cli.WithHint(errors.New("need at least two devices per team"), "raise --devices or lower --teams")
	}
	if c.Duration <= 0 || c.Duration > 10*time.Minute {
		return cli.WithHint(fmt.Errorf("--duration %s is out of range", c.Duration), "use 1s to 10m: load runs are bounded")
	}
	if c.Batch < 1 || c.Batch > 1000 || c.Body < 0 || c.Body > 64<<10 {
		return cli.WithHint(errors.New("--batch or --body out of range"), "--batch 1..1000, --body 0..65536")
	}
	target, err := c.target(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer target.stop()
	res, err := run(ctx, c, target, a.stderr)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		res.print(a.stdout)
	}
	if v := res.Verdict; v != nil && v.Lost+v.Skipped > 0 {
		return cli.WithHint(fmt.Errorf("%d acknowledged revisions lost, %d skipped", v.Lost, v.Skipped),
			"the server (or its database's failover) lost or hid what it had acknowledged: see docs/OPERATIONS.md, Failover")
	}
	return nil
}

// fieldcasedBinary finds the server binary.
func (c *CLI) fieldcasedBinary() (string, error) {
	if c.Fieldcased != "" {
		return c.Fieldcased, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "fieldcased")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", cli.WithHint(errors.New("no fieldcased binary found"), "build it (make build) and pass --fieldcased bin/fieldcased")
}
