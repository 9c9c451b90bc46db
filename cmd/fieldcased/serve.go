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
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fieldcase/fieldcase/internal/cli"

	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/sync/server"
	"github.com/fieldcase/fieldcase/sync/server/boltstore"
	"github.com/fieldcase/fieldcase/sync/server/pgstore"
)

// ServeCmd runs the server.
type ServeCmd struct {
	Listen          string        `default:":8443" help:"Address to listen on (host:port; port 0 picks a free one)."`
	TLSCert         string        `name:"tls-cert" type:"path" help:"TLS certificate (PEM); default: a self-signed one made in the data directory."`
	TLSKey          string        `name:"tls-key" type:"path" help:"TLS private key (PEM)."`
	NoTLS           bool          `name:"no-tls" help:"Serve plain HTTP (only on a loopback address, e.g. behind a local TLS proxy or in tests)."`
	ShutdownTimeout time.Duration `default:"30s" help:"How long in-flight requests may take to finish on SIGTERM."`
	DrainDelay      time.Duration `default:"0s" help:"On SIGTERM, first answer /readyz with 503 for this long while still serving, so a load balancer stops sending new requests."`
	LogLevel        slog.Level    `default:"info" help:"debug, info, warn or error."`

	EnrollPerAddr string `name:"enroll-per-addr" default:"5/10s" help:"Enrolment attempts allowed per client address: BURST/EVERY (behind a reverse proxy every device shares the proxy's address)."`
	EnrollGlobal  string `name:"enroll-global" default:"20/100ms" help:"Enrolment attempts allowed from all addresses together: BURST/EVERY."`

	UploadsPerDevice int           `name:"uploads-per-device" default:"2" help:"Uploads (pushes, audio batches) one device may have in flight; more are answered 429."`
	UploadMinRate    string        `name:"upload-min-rate" default:"16KiB" help:"Slowest an upload may arrive, per second on average once --upload-grace has passed (bytes, or with KiB/MiB; 0: no minimum); slower ones are cut off (408)."`
	UploadGrace      time.Duration `name:"upload-grace" default:"10s" help:"How long an upload may take before --upload-min-rate applies."`

	DBMaxConns     int32         `name:"db-max-conns" default:"10" help:"PostgreSQL: most connections this instance opens (requests beyond wait for one)."`
	DBMinConns     int32         `name:"db-min-conns" default:"0" help:"PostgreSQL: connections kept open while idle."`
	DBConnLifetime time.Duration `name:"db-conn-lifetime" default:"1h" help:"PostgreSQL: recycle connections after this long."`
	DBTxTimeout    time.Duration `name:"db-tx-timeout" default:"15s" help:"PostgreSQL: most time one transaction may take; a database host that stops answering fails requests after this (and the pool's connections are dropped) instead of hanging them."`
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var st server.Store
	storeDesc := filepath.Join(dir, boltstore.FileName)
	if a.cli.DB != "" {
		if c.DBMaxConns < 1 || c.DBMinConns < 0 || c.DBMinConns > c.DBMaxConns {
			return cli.WithHint(fmt.Errorf("--db-max-conns %d / --db-min-conns %d are out of range", c.DBMaxConns, c.DBMinConns),
				"use at least one connection, and no more idle ones than the maximum")
		}
		if cl, err := server.DialAdmin(a.ctx, filepath.Join(dir, server.AdminSocketName)); err == nil && cl != nil {
			return cli.WithHint(fmt.Errorf("another fieldcased serves the data directory %s", dir),
				"give each instance its own --data directory (it holds the instance's TLS files and admin socket)")
		}
		pg, err := openPostgres(a.ctx, a.cli.DB, pgstore.Options{MaxConns: c.DBMaxConns, MinConns: c.DBMinConns,
			MaxConnLifetime: c.DBConnLifetime, TxTimeout: c.DBTxTimeout, Logger: log.With("component", "pgstore")})
		if err != nil {
			return err
		}
		reg.MustRegister(newPoolCollector(pg), newFailoverCollector(pg))
		st, storeDesc = pg, "postgres "+describeDB(a.cli.DB)
	} else {
		bs, err := boltstore.Open(filepath.Join(dir, boltstore.FileName), boltstore.Options{})
		if err != nil {
			if errors.Is(err, server.ErrLocked) {
				return cli.WithHint(fmt.Errorf("another fieldcased holds the store in %s", dir), "stop it first, or use another --data directory")
			}
			return storeError(dir, err)
		}
		// A destruction whose freed pages were not zeroed (a crash, a
		// busy store) is finished now, before any request.
		if err := bs.Reclaim(a.ctx); err != nil {
			log.Warn("clearing freed space after a destruction failed; retried at the next destruction or start", "err", err)
		}
		st = bs
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

	perAddr, err := parseRate("--enroll-per-addr", c.EnrollPerAddr)
	if err != nil {
		return err
	}
	global, err := parseRate("--enroll-global", c.EnrollGlobal)
	if err != nil {
		return err
	}
	minRate, err := parseBytes("--upload-min-rate", c.UploadMinRate)
	if err != nil {
		return err
	}
	if minRate == 0 {
		minRate = -1 // no minimum
	}
	if c.UploadsPerDevice < 1 || c.UploadGrace <= 0 {
		return cli.WithHint(fmt.Errorf("--uploads-per-device %d / --upload-grace %s are out of range", c.UploadsPerDevice, c.UploadGrace),
			"allow at least one upload per device, and a grace above zero")
	}
	srv, err := server.New(server.Config{Store: st, Logger: log, Warnings: warnings, Registry: reg,
		EnrollPerAddr: perAddr, EnrollGlobal: global,
		UploadsPerDevice: c.UploadsPerDevice, UploadMinRate: minRate, UploadGrace: c.UploadGrace})
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

	var draining atomic.Bool
	hs := &http.Server{
		Handler:           drainable(srv.Handler(), &draining),
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
	log.Info("listening", "url", url, "data", dir, "store", storeDesc, "version", version)
	if info, err := server.NewAdmin(st).Agency(a.ctx); err == nil && info.Key == "" {
		log.Warn("no agency key: nobody can enrol until one is installed (fieldcased agency init)")
	} else if err == nil {
		log.Info("agency key", "fingerprint", info.Fingerprint, "statements", info.Statements, "not_accepted", info.Problems)
	}

	select {
	case <-a.ctx.Done():
		log.Info("shutting down", "timeout", c.ShutdownTimeout.String(), "drain_delay", c.DrainDelay.String())
	case err := <-serveErr:
		adminSrv.Shutdown(context.Background())
		return fmt.Errorf("serving: %w", err)
	}
	// Drain: /readyz says 503 while requests are still served, then the
	// listener closes and in-flight requests get ShutdownTimeout to finish.
	// Any still running then are cut: their transactions roll back, and
	// devices retry them (every endpoint is safe to repeat).
	draining.Store(true)
	time.Sleep(c.DrainDelay)
	ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(ctx)
	if err != nil {
		log.Warn("in-flight requests did not finish in time: cutting them", "err", err)
		hs.Close()
	}
	if aerr := adminSrv.Shutdown(ctx); aerr != nil {
		log.Warn("admin socket shutdown", "err", aerr)
	}
	log.Info("stopped")
	return nil
}

// parseBytes reads a size: bytes, or a number with KiB or MiB.
func parseBytes(flag, s string) (int, error) {
	n, unit := s, 1
	for suffix, mult := range map[string]int{"KiB": 1 << 10, "MiB": 1 << 20} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			n, unit = v, mult
		}
	}
	v, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || v < 0 || v > 1<<30/unit {
		return 0, cli.WithHint(fmt.Errorf("%s %q: want a number of bytes", flag, s), "e.g. 16384, 16KiB or 1MiB")
	}
	return v * unit, nil
}

// parseRate reads BURST/EVERY (5/10s: five at once, then one every ten
// seconds).
func parseRate(flag, s string) (server.Rate, error) {
	b, e, ok := strings.Cut(s, "/")
	burst, err1 := strconv.Atoi(b)
	every, err2 := time.ParseDuration(e)
	if !ok || err1 != nil || err2 != nil || burst < 1 || every <= 0 {
		return server.Rate{}, cli.WithHint(fmt.Errorf("%s %q: want BURST/EVERY", flag, s), "e.g. 5/10s: five attempts at once, then one every ten seconds")
	}
	return server.Rate{Every: every, Burst: burst}, nil
}

// drainable answers /readyz with 503 once draining is set, and passes
// everything else to h.
func drainable(h http.Handler, draining *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathReady && draining.Load() {
			w.Header().Set("Content-Type", protocol.MediaJSON)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"code\":%q,\"error\":\"shutting down\"}\n", protocol.CodeUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
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
