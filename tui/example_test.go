package tui_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/tui"
)

// Run is what cmd/fieldcase calls: open the vault locked, run the TUI, close
// the vault afterwards. (Not run as a test: it needs a terminal.)
func ExampleRun() {
	v, err := store.Open(store.DefaultPath(), store.Options{Program: "fieldcase tui"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldcase:", err)
		os.Exit(1)
	}
	defer v.Close()

	logFile, err := os.OpenFile("fieldcase-tui.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldcase:", err)
		os.Exit(1)
	}
	defer logFile.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = tui.Run(ctx, tui.Options{
		Vault: v,
		Log:   slog.New(slog.NewTextHandler(logFile, nil)),
		// Sync: the syncer, once enrolled; nil shows "local only: not enrolled".
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldcase:", err)
		os.Exit(1)
	}
}
