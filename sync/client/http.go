package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// Errors a caller acts on.
var (
	// ErrOffline means the server could not be reached (after retries), or
	// answered only with trouble of its own (ErrServerTrouble): either way
	// nothing was lost and the round can be run again.
	ErrOffline = errors.New("case server unreachable")
	// ErrServerTrouble means the server answered, but with 5xx, 408 or 429
	// after retries (its database failing over, say). It is also ErrOffline.
	ErrServerTrouble = errors.New("the case server is having trouble")
	// ErrRevoked means this device was revoked: it must not sync again.
	ErrRevoked = errors.New("this device has been revoked by the agency")
	// ErrUnauthorized means the server does not know this device's token.
	ErrUnauthorized = errors.New("the case server does not recognise this device")
	// ErrGone means the server's history restarted (restored from backup):
	// pull again from the beginning and re-push what it lacks.
	ErrGone = errors.New("the case server's history was reset")
	// ErrVersion means the server speaks another protocol version.
	ErrVersion = errors.New("the case server speaks another protocol version")
	// ErrFingerprint means the server's certificate is not the pinned one.
	ErrFingerprint = errors.New("the case server's certificate does not match the pinned fingerprint")
	// ErrInsecure refuses plain HTTP to anything but this machine.
	ErrInsecure = errors.New("plain http is only allowed to localhost; use https")
)

// Config configures a Client.
type Config struct {
	Server      string // base URL, https://host:port (http only to loopback)
	Fingerprint string // pinned SHA-256 of the server's certificate (hex, colons allowed); "" for a CA-issued certificate
	Token       string // bearer token ("" before enrolment)
	Logger      *slog.Logger
	// RetryMax is how many times one call is retried on connection errors,
	// 5xx, 408 and 429 (default 4). The background loop adds its own, slower
	// backoff between whole rounds.
	RetryMax     int
	RetryWaitMin time.Duration // default 200 ms
	RetryWaitMax time.Duration // default 8 s
	Timeout      time.Duration // per attempt; default 60 s
}

// Client talks to one case server.
type Client struct {
	base  *url.URL
	token string
	http  *retryablehttp.Client
}

// New makes a client; it does not contact the server.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.Server, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("server address %q is not an http(s) URL", cfg.Server)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, ErrInsecure
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.Fingerprint != "" {
		want, err := ParseFingerprint(cfg.Fingerprint)
		if err != nil {
			return nil, err
		}
		// A pinned certificate replaces CA verification: the agency's server
		// usually has a self-signed one, and the pin is stronger.
		tlsCfg.InsecureSkipVerify = true
		tlsCfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return ErrFingerprint
			}
			got := sha256.Sum256(raw[0])
			if !bytes.Equal(got[:], want) {
				return fmt.Errorf("%w (got %s)", ErrFingerprint, FormatFingerprint(got[:]))
			}
			return nil
		}
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: transport, Timeout: timeout},
		RetryWaitMin: orDefault(cfg.RetryWaitMin, 200*time.Millisecond),
		RetryWaitMax: orDefault(cfg.RetryWaitMax, 8*time.Second),
		RetryMax:     cfg.RetryMax,
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	if cfg.RetryMax == 0 {
		rc.RetryMax = 4
	}
	if cfg.Logger != nil {
		rc.Logger = leveled{cfg.Logger}
	}
	return &Client{base: u, token: cfg.Token, http: rc}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkRetry retries connection errors, 5xx (but 501), 408 and 429 — and
// nothing else: a 4xx is an answer, and a certificate that does not match the
// pin will not start matching.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if errors.Is(err, ErrFingerprint) || isTLSVerifyError(err) {
			return false, err
		}
		return true, nil
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case resp.StatusCode == http.StatusNotImplemented:
		return false, nil
	case resp.StatusCode >= 500:
		return true, nil
	}
	return false, nil
}

func isTLSVerifyError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn)
}

// backoff honours Retry-After on 429 and 503 (capped at hi) and otherwise
// doubles from lo with "equal jitter" (half fixed, half random), so many
// laptops coming back online together do not retry in step.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
				return min(time.Duration(secs)*time.Second, hi)
			}
			if t, err := http.ParseTime(s); err == nil {
				return min(max(time.Until(t), 0), hi)
			}
		}
	}
	d := lo << min(attempt, 30)
	if d <= 0 || d > hi {
		d = hi
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// ParseFingerprint reads a SHA-256 fingerprint in hex, with or without
// colons or a "SHA256:" prefix.
func ParseFingerprint(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "SHA256:"), "sha256:")
	s = strings.ReplaceAll(s, ":", "")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("fingerprint %q is not a SHA-256 in hex", s)
	}
	return b, nil
}

// FormatFingerprint writes a fingerprint as fieldcased prints it.
func FormatFingerprint(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// do sends one request (retried per checkRetry) and decodes the answer:
// 2xx into out (JSON) or returned raw when out is a *[]byte; errors into the
// package's sentinels or a *protocol.Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, contentType string, body []byte, out any) error {
	return c.request(ctx, method, path, query, contentType, nil, body, out)
}

// doWithHeader POSTs a batch body with extra headers.
func (c *Client) doWithHeader(ctx context.Context, path string, body []byte, hdr map[string]string, out any) error {
	return c.request(ctx, http.MethodPost, path, nil, protocol.MediaBatch, hdr, body, out)
}

func (c *Client) request(ctx context.Context, method, path string, query url.Values, contentType string, extra map[string]string, body []byte, out any) error {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	var rb any
	if body != nil {
		rb = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u.String(), rb)
	if err != nil {
		return err
	}
	req.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if method == http.MethodPost {
		req.Header.Set(protocol.HeaderIdempotency, idempotencyKey(body))
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrFingerprint) {
			return ErrFingerprint
		}
		if isTLSVerifyError(err) {
			return fmt.Errorf("%w: %v", ErrFingerprint, err)
		}
		return fmt.Errorf("%w: %v", ErrOffline, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, protocol.MaxBatchBytes+1<<20))
	if err != nil {
		// A response cut off mid-way: nothing in it can be trusted, and
		// everything is safe to ask for again.
		return fmt.Errorf("%w: reading the answer: %v", ErrOffline, err)
	}
	if resp.StatusCode/100 == 2 {
		switch o := out.(type) {
		case nil:
			return nil
		case *[]byte:
			*o = data
			return nil
		default:
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%w: malformed answer: %v", ErrOffline, err)
			}
			return nil
		}
	}
	var pe protocol.Error
	_ = json.Unmarshal(data, &pe)
	if pe.Message == "" {
		pe.Message = strings.TrimSpace(string(data))
		if pe.Message == "" {
			pe.Message = resp.Status
		}
	}
	switch {
	case pe.Code == protocol.CodeRevoked:
		return ErrRevoked
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s", ErrUnauthorized, pe.Message)
	case resp.StatusCode == http.StatusGone:
		return ErrGone
	case resp.StatusCode == http.StatusUpgradeRequired || pe.Code == protocol.CodeVersion:
		return fmt.Errorf("%w: %s", ErrVersion, pe.Message)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return &troubleError{status: resp.Status, msg: pe.Message}
	}
	if pe.Code == "" {
		pe.Code = strconv.Itoa(resp.StatusCode)
	}
	return &pe
}

// Ping asks the server's /healthz once, without retrying: a cheap "can we
// reach it?" for a laptop that is offline, so that a full round starts the
// moment the server answers again. Any answer from the server (even one
// that says it is unwell) counts as reachable; only a failure to connect,
// a certificate that does not match the pin, or ctx ending is an error.
func (c *Client) Ping(ctx context.Context) error {
	u := *c.base
	u.Path = c.base.Path + protocol.PathHealth
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v", ErrOffline, ctx.Err())
		}
		if errors.Is(err, ErrFingerprint) || isTLSVerifyError(err) {
			return fmt.Errorf("%w: %v", ErrFingerprint, err)
		}
		return fmt.Errorf("%w: %v", ErrOffline, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return nil
}

// troubleError is a server that answered with trouble of its own: it is
// ErrServerTrouble, and ErrOffline for callers that only ask "did it
// reach the server and work?".
type troubleError struct{ status, msg string }

func (e *troubleError) Error() string {
	if e.msg == "" || e.msg == e.status {
		return ErrServerTrouble.Error() + " (" + e.status + ")"
	}
	return ErrServerTrouble.Error() + " (" + e.status + "): " + e.msg
}

func (e *troubleError) Is(target error) bool {
	return target == ErrServerTrouble || target == ErrOffline
}

func idempotencyKey(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:16])
}

// Enroll registers this device under an enrolment grant.
func (c *Client) Enroll(ctx context.Context, req protocol.EnrollRequest) (*protocol.EnrollResponse, error) {
	req.Protocol = protocol.Version
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out protocol.EnrollResponse
	if err := c.do(ctx, http.MethodPost, protocol.PathEnroll, nil, protocol.MediaJSON, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Push sends revisions (parents before children) and returns the server's
// per-item answers. blobs optionally declares, per revision, the blobs it
// needs on the server first.
func (c *Client) Push(ctx context.Context, revs []*record.Revision, blobs map[record.RevID][]record.RevID) (*protocol.PushResponse, error) {
	return c.PushWith(ctx, revs, protocol.PushHeader{Blobs: blobs})
}

// PushWith is Push with a whole push header (blobs and audit heads).
func (c *Client) PushWith(ctx context.Context, revs []*record.Revision, h protocol.PushHeader) (*protocol.PushResponse, error) {
	var hdr any
	if len(h.Blobs) > 0 || len(h.AuditHeads) > 0 {
		hdr = h
	}
	body, err := protocol.EncodeBatch(hdr, revs)
	if err != nil {
		return nil, err
	}
	var out protocol.PushResponse
	if err := c.do(ctx, http.MethodPost, protocol.PathPush, nil, protocol.MediaBatch, body, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(revs) {
		return nil, fmt.Errorf("%w: push answered %d items for %d revisions", ErrOffline, len(out.Results), len(revs))
	}
	for i, r := range out.Results {
		if r.Rev != revs[i].Rev {
			return nil, fmt.Errorf("%w: push answer out of order", ErrOffline)
		}
	}
	return &out, nil
}

// Pull fetches the changes after cursor, at most limit revisions.
func (c *Client) Pull(ctx context.Context, cursor string, limit int) (protocol.PullHeader, []*record.Revision, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var data []byte
	var hdr protocol.PullHeader
	if err := c.do(ctx, http.MethodGet, protocol.PathPull, q, "", nil, &data); err != nil {
		return hdr, nil, err
	}
	revs, err := protocol.DecodeBatch(data, &hdr, protocol.MaxPullLimit)
	if err != nil {
		// A truncated or damaged page: drop it whole and ask again.
		return hdr, nil, fmt.Errorf("%w: %v", ErrOffline, err)
	}
	return hdr, revs, nil
}

// RevsDiff asks which of revs the server lacks.
func (c *Client) RevsDiff(ctx context.Context, revs []record.RevID) ([]record.RevID, error) {
	body, err := json.Marshal(protocol.RevsDiffRequest{Revs: revs})
	if err != nil {
		return nil, err
	}
	var out protocol.RevsDiffResponse
	if err := c.do(ctx, http.MethodPost, protocol.PathRevsDiff, nil, protocol.MediaJSON, body, &out); err != nil {
		return nil, err
	}
	return out.Missing, nil
}

// Own fetches this device's own revisions with a sequence number above
// afterSeq (a vault restored from a backup takes them back), at most
// MaxPullLimit at a time; more is true when there are further ones.
func (c *Client) Own(ctx context.Context, afterSeq uint64) (revs []*record.Revision, more bool, err error) {
	body, err := json.Marshal(protocol.OwnRequest{AfterSeq: afterSeq})
	if err != nil {
		return nil, false, err
	}
	var data []byte
	if err := c.do(ctx, http.MethodPost, protocol.PathOwn, nil, protocol.MediaJSON, body, &data); err != nil {
		return nil, false, err
	}
	var hdr protocol.OwnHeader
	revs, err = protocol.DecodeBatch(data, &hdr, protocol.MaxPullLimit)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrOffline, err)
	}
	return revs, hdr.HasMore, nil
}

// Grant sends a pairing grant this device signed for its own user.
func (c *Client) Grant(ctx context.Context, g trust.Signed) error {
	body, err := json.Marshal(protocol.GrantRequest{Grant: g})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, protocol.PathGrants, nil, protocol.MediaJSON, body, nil)
}

// Revoke sends a revocation this device signed.
func (c *Client) Revoke(ctx context.Context, r trust.Signed) error {
	body, err := json.Marshal(protocol.RevokeRequest{Revocation: r})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, protocol.PathRevoke, nil, protocol.MediaJSON, body, nil)
}

// DueRules sends due rules this device signed for its team.
func (c *Client) DueRules(ctx context.Context, r trust.Signed) error {
	body, err := json.Marshal(protocol.DueRulesRequest{Rules: r})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, protocol.PathDueRules, nil, protocol.MediaJSON, body, nil)
}

// Policy sends a weighting policy this device signed for its team.
func (c *Client) Policy(ctx context.Context, p trust.Signed) error {
	body, err := json.Marshal(protocol.PolicyRequest{Policy: p})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, protocol.PathPolicy, nil, protocol.MediaJSON, body, nil)
}

// Roster fetches every signed statement the server holds.
func (c *Client) Roster(ctx context.Context) (*protocol.Roster, error) {
	var out protocol.Roster
	if err := c.do(ctx, http.MethodGet, protocol.PathRoster, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// leveled adapts slog to retryablehttp's LeveledLogger.
type leveled struct{ l *slog.Logger }

func (l leveled) Error(msg string, kv ...any) { l.l.Error(msg, kv...) }
func (l leveled) Info(msg string, kv ...any)  { l.l.Debug(msg, kv...) }
func (l leveled) Debug(msg string, kv ...any) { l.l.Debug(msg, kv...) }
func (l leveled) Warn(msg string, kv ...any)  { l.l.Warn(msg, kv...) }

// BlobsMissing asks which of a case's blobs the server lacks.
func (c *Client) BlobsMissing(ctx context.Context, caseID string, ids []record.RevID) ([]record.RevID, error) {
	body, err := json.Marshal(protocol.BlobsMissingRequest{CaseID: caseID, IDs: ids})
	if err != nil {
		return nil, err
	}
	var out protocol.BlobsMissingResponse
	if err := c.do(ctx, http.MethodPost, protocol.PathBlobsMiss, nil, protocol.MediaJSON, body, &out); err != nil {
		return nil, err
	}
	return out.Missing, nil
}

// UploadBlobs sends sealed blobs of one case; the server checks each hash
// and stores it durably before answering.
func (c *Client) UploadBlobs(ctx context.Context, caseID string, blobs []protocol.Blob) (*protocol.BlobsResponse, error) {
	var out protocol.BlobsResponse
	body := protocol.EncodeBlobs(blobs)
	if err := c.doWithHeader(ctx, protocol.PathBlobs, body, map[string]string{protocol.HeaderCase: caseID}, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(blobs) {
		return nil, fmt.Errorf("%w: blob upload answered %d of %d", ErrOffline, len(out.Results), len(blobs))
	}
	return &out, nil
}

// FetchBlobs downloads blobs of one case, as many as fit one answer.
func (c *Client) FetchBlobs(ctx context.Context, caseID string, ids []record.RevID) ([]protocol.Blob, error) {
	body, err := json.Marshal(protocol.BlobsFetchRequest{CaseID: caseID, IDs: ids})
	if err != nil {
		return nil, err
	}
	var data []byte
	if err := c.do(ctx, http.MethodPost, protocol.PathBlobsGet, nil, protocol.MediaJSON, body, &data); err != nil {
		return nil, err
	}
	blobs, err := protocol.DecodeBlobs(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOffline, err)
	}
	return blobs, nil
}

// Team fetches the supervisor's team view.
func (c *Client) Team(ctx context.Context) (*protocol.TeamView, error) {
	var out protocol.TeamView
	if err := c.do(ctx, http.MethodGet, protocol.PathTeam, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetMembers adds and removes a case's members (user names).
func (c *Client) SetMembers(ctx context.Context, caseID string, add, remove []string) (*protocol.TeamCase, error) {
	body, err := json.Marshal(protocol.MembersUpdate{Add: add, Remove: remove})
	if err != nil {
		return nil, err
	}
	var out protocol.TeamCase
	if err := c.do(ctx, http.MethodPost, strings.Replace(protocol.PathMembers, "{case}", caseID, 1), nil, protocol.MediaJSON, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetTranscription opens a case to the team's typists, or closes it.
func (c *Client) SetTranscription(ctx context.Context, caseID string, open bool) error {
	body, err := json.Marshal(protocol.TranscriptionUpdate{Open: open})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, strings.Replace(protocol.PathTranscription, "{case}", caseID, 1), nil, protocol.MediaJSON, body, nil)
}

// PreKey sends a pre-key statement this device signed for itself. It
// returns the roster version that holds it.
func (c *Client) PreKey(ctx context.Context, p trust.Signed) (uint64, error) {
	body, err := json.Marshal(protocol.PreKeyRequest{PreKey: p})
	if err != nil {
		return 0, err
	}
	var out struct {
		RosterVersion uint64 `json:"roster_version"`
	}
	err = c.do(ctx, http.MethodPost, protocol.PathPreKey, nil, protocol.MediaJSON, body, &out)
	return out.RosterVersion, err
}
