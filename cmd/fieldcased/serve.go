package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/internal/cli"

	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
)

// ServeCmd runs the server.
type ServeCmd struct {
	Listen          string        `default:":8443" help:"Address to listen on (host:port; port 0 picks a free one)."`
	TLSCert         string        `name:"tls-cert" type:"path" help:"TLS certificate (PEM); default: a self-signed one made in the data directory."`
	TLSKey          string        `name:"tls-key" type:"path" help:"TLS private key (PEM)."`
	NoTLS           bool          `name:"no-tls" help:"Serve plain HTTP (only on a loopback address, e.g. behind a local TLS proxy or in tests)."`
	ShutdownTimeout time.Duration `default:"30s" help:"How long in-flight requests may take to finish on SIGTERM."`
	LogLevel        slog.Level    `default:"info" help:"debug, info, warn or error."`
}

// Self-signed certificate files in the data directory.
const (
	certFile = "tls-cert.pem"
	keyFile  = "tls-key.pem"
)

func (c *ServeCmd) Run(a *app) error {
	log := slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	dir, err := a.dataDir()
	if err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return cli.WithHint(errors.New("--tls-cert and --tls-key go together"), "give both, or neither for a self-signed certificate")
	}
	if c.NoTLS && !loopback(c.Listen) {
		return cli.WithHint(fmt.Errorf("--no-tls on %q: plain HTTP is allowed on a loopback address only", c.Listen),
			"listen on 127.0.0.1 (behind a TLS proxy), or drop --no-tls")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := boltstore.Open(filepath.Join(dir, boltstore.FileName), boltstore.Options{})
	if err != nil {
		if errors.Is(err, server.ErrLocked) {
			return cli.WithHint(fmt.Errorf("another fieldcased holds the store in %s", dir), "stop it first, or use another --data directory")
		}
		return storeError(dir, err)
	}
	defer st.Close()

	var tlsConf *tls.Config
	var warnings []string
	if c.NoTLS {
		warnings = append(warnings, "plain HTTP (--no-tls): only safe behind a TLS proxy on this host")
	} else {
		cert, fp, generated, err := c.certificate(dir)
		if err != nil {
			return err
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
		if fp != "" {
			fmt.Fprintf(a.stdout, "certificate fingerprint (sha256): %s\n", fp)
			log.Info("tls certificate", "sha256", fp, "self_signed", true, "generated", generated)
		}
	}

	srv, err := server.New(server.Config{Store: st, Logger: log, Warnings: warnings})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return cli.WithHint(err, "is another server on that port? pick another with --listen")
	}
	scheme := "http"
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
		scheme = "https"
	}
	adminLn, err := server.ListenAdmin(filepath.Join(dir, server.AdminSocketName))
	if err != nil {
		ln.Close()
		return err
	}
	adminSrv := server.ServeAdmin(adminLn, server.NewAdmin(st), log.With("component", "admin"))

	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // a few MiB over a poor mobile link
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	url := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	fmt.Fprintf(a.stdout, "listening on %s\n", url)
	log.Info("listening", "url", url, "data", dir, "version", version)

	select {
	case <-a.ctx.Done():
		log.Info("shutting down", "timeout", c.ShutdownTimeout.String())
	case err := <-serveErr:
		adminSrv.Shutdown(context.Background())
		return fmt.Errorf("serving: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(ctx)
	if err != nil {
		log.Warn("in-flight requests did not finish in time", "err", err)
		hs.Close()
	}
	if aerr := adminSrv.Shutdown(ctx); aerr != nil {
		log.Warn("admin socket shutdown", "err", aerr)
	}
	log.Info("stopped")
	return nil
}

// loopback reports whether a listen address is on the loopback interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// certificate loads --tls-cert/--tls-key, or the self-signed certificate in
// dir, making it on first start. fp is the SHA-256 of a self-signed
// certificate, for devices to pin ("" for a given one).
func (c *ServeCmd) certificate(dir string) (cert tls.Certificate, fp string, generated bool, err error) {
	if c.TLSCert != "" {
		cert, err = tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return cert, "", false, cli.WithHint(fmt.Errorf("loading TLS certificate: %w", err), "check --tls-cert and --tls-key")
		}
		return cert, "", false, nil
	}
	certPath, keyPath := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	if _, err := os.Stat(certPath); errors.Is(err, fs.ErrNotExist) {
		if err := writeSelfSigned(certPath, keyPath); err != nil {
			return cert, "", false, fmt.Errorf("making a self-signed certificate: %w", err)
		}
		generated = true
	}
	cert, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return cert, "", false, cli.WithHint(fmt.Errorf("loading the self-signed certificate: %w", err),
			fmt.Sprintf("remove %s and %s to make a new one (devices must then pin the new fingerprint)", certPath, keyPath))
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return cert, hex.EncodeToString(sum[:]), generated, nil
}

// writeSelfSigned makes an ECDSA P-256 certificate for this host, valid ten
// years: devices pin its fingerprint rather than trust a CA.
func writeSelfSigned(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	names := []string{"localhost"}
	if host != "" && host != "localhost" {
		names = append(names, host)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "fieldcased " + strings.TrimSpace(host), Organization: []string{"fieldcase"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeNew writes a new file durably, replacing a leftover of a failed run.
func writeNew(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
