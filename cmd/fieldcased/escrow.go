package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/escrow"
	"github.com/fieldcase/fieldcase/internal/cli"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/trust"
)

// EscrowCmd runs and names the escrow service for per-case escrow keys.
type EscrowCmd struct {
	Serve  EscrowServeCmd  `cmd:"" help:"Run the escrow service (its own file and listener; run it apart from the case server, on storage with short backup retention)."`
	Set    EscrowSetCmd    `cmd:"" help:"Name the escrow service devices deposit escrow keys with (signed with the agency key): cases created from then on are wrapped to their own escrow key."`
	Keygen EscrowKeygenCmd `cmd:"" help:"Make the escrow service's receipt signing key (a file kept with the service), and print its public half for 'escrow set --receipt-key'."`
}

// Help says what the escrow service is for.
func (EscrowCmd) Help() string {
	return "Crypto-shredding (docs/ARCHITECTURE.md): a case created while an escrow service is named has its keys wrapped to its own " +
		"escrow key, whose private half (wrapped to the recovery identity) is kept only by the escrow service. Destroying the case " +
		"deletes it there; once the escrow service's backups have aged out, the recovery identity can open no backup of the case."
}

// EscrowServeCmd runs the escrow service.
type EscrowServeCmd struct {
	File       string     `required:"" type:"path" help:"The escrow file (bbolt; created on first start). Keep it off the case server's storage and backups." placeholder:"FILE"`
	Agency     string     `required:"" help:"The agency's public key, as 'fieldcased agency show' prints it: every deposit and destruction is checked against it." placeholder:"KEY"`
	Listen     string     `default:":8444" help:"Address to listen on (host:port; port 0 picks a free one)."`
	TLSCert    string     `name:"tls-cert" type:"path" help:"TLS certificate (PEM)."`
	TLSKey     string     `name:"tls-key" type:"path" help:"TLS private key (PEM)."`
	NoTLS      bool       `name:"no-tls" help:"Serve plain HTTP (only on a loopback address, e.g. behind a local TLS proxy or in tests)."`
	ReceiptKey string     `name:"receipt-key" type:"existingfile" help:"The receipt signing key ('fieldcased escrow keygen'); devices check receipts against the public half named in 'escrow set'." placeholder:"FILE"`
	LogLevel   slog.Level `default:"info" help:"debug, info, warn or error."`

	BackupDir   string        `name:"backup-dir" type:"path" help:"Write a backup of the escrow file here every --backup-every, and delete those older than --backup-keep: the escrow service's own, short backup retention." placeholder:"DIR"`
	BackupEvery time.Duration `name:"backup-every" default:"24h" help:"How often to back up into --backup-dir."`
	BackupKeep  time.Duration `name:"backup-keep" default:"840h" help:"How long a backup is kept (default 35 days): a destroyed case stays readable to the recovery identity, with an old server backup, for up to this long after its destruction."`
}

func (c *EscrowServeCmd) Run(a *app) error {
	log := slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	agency, err := trust.ParseAgencyKey(strings.TrimSpace(c.Agency))
	if err != nil {
		return cli.WithHint(errors.New("--agency is not an agency public key"), "give the key line 'fieldcased agency show' prints")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") || (c.TLSCert == "" && !c.NoTLS) {
		return cli.WithHint(errors.New("--tls-cert and --tls-key are needed"), "give both, or --no-tls on a loopback address behind a TLS proxy")
	}
	if c.NoTLS && !loopback(c.Listen) {
		return cli.WithHint(fmt.Errorf("--no-tls on %q: plain HTTP is allowed on a loopback address only", c.Listen),
			"listen on 127.0.0.1 (behind a TLS proxy), or drop --no-tls")
	}
	if c.BackupDir != "" {
		if c.BackupEvery < time.Minute || c.BackupKeep < c.BackupEvery {
			return cli.WithHint(errors.New("--backup-every must be a minute or more, and --backup-keep at least as long"), "e.g. --backup-every 24h --backup-keep 840h")
		}
		if fi, err := os.Stat(c.BackupDir); err != nil || !fi.IsDir() {
			return cli.WithHint(fmt.Errorf("--backup-dir %s is not a directory", c.BackupDir), "create it, on storage apart from the case server's")
		}
	}
	var key ed25519.PrivateKey
	if c.ReceiptKey != "" {
		if key, err = readReceiptKey(c.ReceiptKey); err != nil {
			return err
		}
	}
	st, err := escrow.Open(c.File, false)
	if errors.Is(err, escrow.ErrLocked) {
		return cli.WithHint(fmt.Errorf("%s is in use by another process", c.File), "is an escrow service already running on it?")
	}
	if err != nil {
		return fmt.Errorf("opening the escrow file: %w", err)
	}
	defer st.Close()
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return cli.WithHint(err, "is another service on that port? pick another with --listen")
	}
	scheme := "http"
	if !c.NoTLS {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			ln.Close()
			return cli.WithHint(fmt.Errorf("loading the TLS certificate: %w", err), "give a PEM certificate and its key")
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
		scheme = "https"
	}
	hs := &http.Server{
		Handler:           &escrow.Service{Store: st, Agency: agency, Key: key, Log: log},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	url := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	fmt.Fprintf(a.stdout, "escrow service listening on %s\n", url)
	n, _ := st.Len()
	log.Info("listening", "url", url, "file", c.File, "deposits", n, "signed_receipts", key != nil)
	if c.BackupDir != "" {
		go backupLoop(a.ctx, st, c.BackupDir, c.BackupEvery, c.BackupKeep, log)
	}
	select {
	case <-a.ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serving: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		hs.Close()
	}
	log.Info("stopped")
	return nil
}

const receiptKeyPrefix = "FIELDCASE-ESCROW-RECEIPT-KEY-1 "

func readReceiptKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seed, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(string(b)), receiptKeyPrefix))
	if err != nil || len(seed) != ed25519.SeedSize || !strings.HasPrefix(string(b), receiptKeyPrefix) {
		return nil, cli.WithHint(fmt.Errorf("%s is not an escrow receipt key", path), "give the file 'fieldcased escrow keygen' wrote")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// EscrowKeygenCmd makes a receipt signing key.
type EscrowKeygenCmd struct {
	Out string `required:"" type:"path" help:"File to write (must not exist)." placeholder:"FILE"`
}

func (c *EscrowKeygenCmd) Run(a *app) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(c.Out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return cli.WithHint(err, "give a new file")
	}
	_, err = fmt.Fprintf(f, "%s%s\n", receiptKeyPrefix, base64.RawStdEncoding.EncodeToString(priv.Seed()))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(c.Out)
		return fmt.Errorf("writing %s: %w", c.Out, err)
	}
	fmt.Fprintln(a.stdout, base64.RawStdEncoding.EncodeToString(pub))
	return nil
}

// EscrowSetCmd signs the escrow statement.
type EscrowSetCmd struct {
	URL        string `arg:"" help:"The escrow service's address devices reach (https://…)."`
	ReceiptKey string `name:"receipt-key" help:"The public key 'fieldcased escrow keygen' printed: devices drop a deposit only on a receipt signed with it." placeholder:"KEY"`
	AgencyKeyFlag
}

func (c *EscrowSetCmd) Run(a *app) error {
	if err := trust.CheckEscrowURL(c.URL); err != nil {
		return cli.WithHint(errors.New("not an http(s) address"), "e.g. https://escrow.agency.example:8444")
	}
	var key []byte
	if c.ReceiptKey != "" {
		k, err := base64.RawStdEncoding.DecodeString(strings.TrimSpace(c.ReceiptKey))
		if err != nil || len(k) != ed25519.PublicKeySize {
			return cli.WithHint(errors.New("--receipt-key is not an escrow receipt public key"), "give the line 'fieldcased escrow keygen' printed")
		}
		key = k
	}
	return a.signing(c.AgencyKey, func(conn *adminConn, k *trust.AgencyKey) error {
		top, err := a.topEscrowVersion(conn)
		if err != nil {
			return err
		}
		st := trust.Statement{Kind: trust.KindEscrow, URL: c.URL, Key: key, Version: top + 1}
		if err := a.addStatements(conn, sign(k, st)); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "escrow service set: %s (version %d); cases created from now on get their own escrow key\n", c.URL, st.Version)
		return nil
	})
}

// topEscrowVersion is the highest version of the agency's escrow
// statements the server holds (conflicting ones included: the next must
// beat them).
func (a *app) topEscrowVersion(conn *adminConn) (uint64, error) {
	var info server.RosterInfo
	if err := a.call(conn, server.AdminRequest{Op: server.OpRoster}, &info); err != nil {
		return 0, err
	}
	var top uint64
	for _, s := range info.Statements {
		if st, err := s.Signed.Open(); err == nil && st.Kind == trust.KindEscrow {
			top = max(top, st.Version)
		}
	}
	return top, nil
}

// backupLoop backs the escrow file up into dir at once and every every,
// deleting backups older than keep, until ctx ends.
func backupLoop(ctx context.Context, st *escrow.Store, dir string, every, keep time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		path, n, err := st.BackupRotate(dir, time.Now(), keep)
		if err != nil {
			log.Error("escrow backup failed", "dir", dir, "err", err)
		} else {
			log.Info("escrow backup written", "path", path, "deleted_old", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
