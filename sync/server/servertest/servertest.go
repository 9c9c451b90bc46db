package servertest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/internal/sealed"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/transparency"
	"github.com/fieldcase/fieldcase/trust"
)

// StatusError is a non-2xx answer.
type StatusError struct {
	Status  int
	Code    string // protocol error code
	Message string // the server's reason
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Client is one enrolled device.
type Client struct {
	BaseURL  string
	HTTP     *http.Client
	Token    string
	DeviceID string
	// Identity is the device's keys (its signing key signs revisions and
	// statements).
	Identity *crypto.Identity
}

// Writer makes revisions signed by the client's device.
func (c *Client) Writer() *Writer { return &Writer{Device: c.DeviceID, Sign: c.Identity.Sign} }

// SignStatement signs a statement as the client's device.
func (c *Client) SignStatement(s trust.Statement) trust.Signed {
	if s.Issued.IsZero() {
		s.Issued = time.Now()
	}
	return trust.SignAsDevice(c.DeviceID, c.Identity.Sign, s)
}

// Do sends a request with the protocol header and the device token, and
// returns a non-2xx answer as *StatusError.
func (c *Client) Do(ctx context.Context, method, path string, hdr http.Header, body []byte) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if req.Header.Get(protocol.HeaderVersion) == "" {
		req.Header.Set(protocol.HeaderVersion, strconv.Itoa(protocol.Version))
	}
	if c.Token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.Header, err
	}
	if resp.StatusCode/100 != 2 {
		var pe protocol.Error
		_ = json.Unmarshal(b, &pe)
		return b, resp.Header, &StatusError{Status: resp.StatusCode, Code: pe.Code, Message: pe.Message}
	}
	return b, resp.Header, nil
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	b, _, err := c.Do(ctx, method, path, http.Header{"Content-Type": {protocol.MediaJSON}}, body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// Enroll enrols a new device (with a fresh identity) using code, an
// enrolment code as printed (trust.Code).
func Enroll(ctx context.Context, baseURL string, hc *http.Client, code, deviceID string) (*Client, protocol.EnrollResponse, error) {
	id, err := crypto.NewIdentity()
	if err != nil {
		return nil, protocol.EnrollResponse{}, err
	}
	return EnrollWith(ctx, baseURL, hc, code, deviceID, id)
}

// EnrollWith enrols a device with the given identity (to retry an
// enrolment as the same device).
func EnrollWith(ctx context.Context, baseURL string, hc *http.Client, code, deviceID string, id *crypto.Identity) (*Client, protocol.EnrollResponse, error) {
	c, err := trust.ParseCode(code)
	if err != nil {
		return nil, protocol.EnrollResponse{}, err
	}
	return EnrollRequest(ctx, baseURL, hc, protocol.EnrollRequest{Grant: c.GrantID(), Device: DeviceStatement(c, deviceID, id)}, id)
}

// DeviceStatement is the statement a device enrolling with code signs.
func DeviceStatement(code trust.Code, deviceID string, id *crypto.Identity) trust.Signed {
	return trust.SignWithCode(code, trust.Statement{Kind: trust.KindDevice, Issued: time.Now(), Device: deviceID,
		Name: deviceID + " laptop", Recipient: id.Recipient(), Key: id.SigningPublicKey(), Grant: code.GrantID()})
}

// EnrollRequest sends an enrolment request as it is (tests forge them).
func EnrollRequest(ctx context.Context, baseURL string, hc *http.Client, req protocol.EnrollRequest, id *crypto.Identity) (*Client, protocol.EnrollResponse, error) {
	st, _ := req.Device.Open()
	c := &Client{BaseURL: baseURL, HTTP: hc, DeviceID: st.Device, Identity: id}
	if req.Protocol == 0 {
		req.Protocol = protocol.Version
	}
	var resp protocol.EnrollResponse
	if err := c.doJSON(ctx, "POST", protocol.PathEnroll, req, &resp); err != nil {
		return nil, resp, err
	}
	c.Token = resp.Token
	return c, resp, nil
}

// Push pushes revs with an optional batch header.
func (c *Client) Push(ctx context.Context, header any, revs ...*record.Revision) (protocol.PushResponse, error) {
	var resp protocol.PushResponse
	body, err := protocol.EncodeBatch(header, revs)
	if err != nil {
		return resp, err
	}
	b, _, err := c.Do(ctx, "POST", protocol.PathPush, http.Header{"Content-Type": {protocol.MediaBatch}}, body)
	if err != nil {
		return resp, err
	}
	return resp, json.Unmarshal(b, &resp)
}

// Pull pulls one page after cursor (limit 0: the server's default).
func (c *Client) Pull(ctx context.Context, cursor string, limit int) (protocol.PullHeader, []*record.Revision, error) {
	var hdr protocol.PullHeader
	q := url.Values{"cursor": {cursor}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	b, _, err := c.Do(ctx, "GET", protocol.PathPull+"?"+q.Encode(), nil, nil)
	if err != nil {
		return hdr, nil, err
	}
	revs, err := protocol.DecodeBatch(b, &hdr, protocol.MaxPullLimit)
	return hdr, revs, err
}

// PullAll pulls pages until has_more is false and returns every revision
// and the last cursor.
func (c *Client) PullAll(ctx context.Context, cursor string) ([]*record.Revision, string, error) {
	var all []*record.Revision
	for range 100000 {
		hdr, revs, err := c.Pull(ctx, cursor, 0)
		if err != nil {
			return all, cursor, err
		}
		all = append(all, revs...)
		cursor = hdr.NextCursor
		if !hdr.HasMore {
			return all, cursor, nil
		}
	}
	return all, cursor, fmt.Errorf("pull did not end")
}

// RevsDiff asks which revs the server lacks.
func (c *Client) RevsDiff(ctx context.Context, revs []record.RevID) ([]record.RevID, error) {
	var resp protocol.RevsDiffResponse
	err := c.doJSON(ctx, "POST", protocol.PathRevsDiff, protocol.RevsDiffRequest{Revs: revs}, &resp)
	return resp.Missing, err
}

// Roster fetches the roster: the agency key and every statement.
func (c *Client) Roster(ctx context.Context) (protocol.Roster, error) {
	var r protocol.Roster
	err := c.doJSON(ctx, "GET", protocol.PathRoster, nil, &r)
	return r, err
}

// Grant sends a pairing grant the device signed.
func (c *Client) Grant(ctx context.Context, grant trust.Signed) error {
	var out json.RawMessage
	return c.doJSON(ctx, "POST", protocol.PathGrants, protocol.GrantRequest{Grant: grant}, &out)
}

// Pair makes a pairing code for the device's own user (valid for ttl) and
// sends its grant: the code enrols one more device of the user.
func (c *Client) Pair(ctx context.Context, user string, agency ed25519.PublicKey, ttl time.Duration) (trust.Code, error) {
	code := trust.NewCode(agency)
	grant := c.SignStatement(trust.Statement{Kind: trust.KindGrant, Grant: code.GrantID(), User: user,
		Key: code.Key().Public().(ed25519.PublicKey), Expires: time.Now().Add(ttl)})
	return code, c.Grant(ctx, grant)
}

// Revoke sends a revocation the device signed.
func (c *Client) Revoke(ctx context.Context, revocation trust.Signed) error {
	var out json.RawMessage
	return c.doJSON(ctx, "POST", protocol.PathRevoke, protocol.RevokeRequest{Revocation: revocation}, &out)
}

// DueRules sends due rules the device signed for its team.
func (c *Client) DueRules(ctx context.Context, rules trust.Signed) error {
	var out json.RawMessage
	return c.doJSON(ctx, "POST", protocol.PathDueRules, protocol.DueRulesRequest{Rules: rules}, &out)
}

// Policy sends a weighting policy the device signed for its team.
func (c *Client) Policy(ctx context.Context, policy trust.Signed) error {
	var out json.RawMessage
	return c.doJSON(ctx, "POST", protocol.PathPolicy, protocol.PolicyRequest{Policy: policy}, &out)
}

// Own fetches the device's own revisions above afterSeq (one answer).
func (c *Client) Own(ctx context.Context, afterSeq uint64) (protocol.OwnHeader, []*record.Revision, error) {
	var hdr protocol.OwnHeader
	body, _ := json.Marshal(protocol.OwnRequest{AfterSeq: afterSeq})
	b, _, err := c.Do(ctx, "POST", protocol.PathOwn, http.Header{"Content-Type": {protocol.MediaJSON}}, body)
	if err != nil {
		return hdr, nil, err
	}
	revs, err := protocol.DecodeBatch(b, &hdr, protocol.MaxPullLimit)
	return hdr, revs, err
}

// Log fetches the log's newest checkpoint and, for from > 0, the proof
// that it extends the tree of from entries.
func (c *Client) Log(ctx context.Context, from int64) (protocol.LogResponse, error) {
	var resp protocol.LogResponse
	path := protocol.PathLog
	if from > 0 {
		path += "?from=" + strconv.FormatInt(from, 10)
	}
	err := c.doJSON(ctx, "GET", path, nil, &resp)
	return resp, err
}

// Proofs asks for inclusion proofs of log entries in the tree of size.
func (c *Client) Proofs(ctx context.Context, size int64, indexes ...int64) (protocol.ProofsResponse, error) {
	var resp protocol.ProofsResponse
	err := c.doJSON(ctx, "POST", protocol.PathProofs, protocol.ProofsRequest{TreeSize: size, Indexes: indexes}, &resp)
	return resp, err
}

// WitnessSigner is the device's witness key (transparency.WitnessSigner).
func (c *Client) WitnessSigner() (note.Signer, error) {
	return transparency.WitnessSigner(c.DeviceID, c.Identity.SigningPublicKey(), c.Identity.Sign)
}

// Witness cosigns a signed checkpoint as the device and sends it.
func (c *Client) Witness(ctx context.Context, checkpoint []byte) (protocol.LogResponse, error) {
	var resp protocol.LogResponse
	ws, err := c.WitnessSigner()
	if err != nil {
		return resp, err
	}
	cosigned, err := transparency.Cosign(checkpoint, ws)
	if err != nil {
		return resp, err
	}
	return c.SendWitness(ctx, cosigned)
}

// SendWitness sends a cosigned checkpoint as it is (tests forge them).
func (c *Client) SendWitness(ctx context.Context, cosigned []byte) (protocol.LogResponse, error) {
	var resp protocol.LogResponse
	err := c.doJSON(ctx, "POST", protocol.PathWitness, protocol.WitnessRequest{Checkpoint: cosigned}, &resp)
	return resp, err
}

// AuditHead signs the head of the device's audit chain in a case, for a
// push header.
func (c *Client) AuditHead(caseID string, seq uint64, head [32]byte) protocol.AuditHead {
	return protocol.AuditHead{CaseID: caseID, Seq: seq, Hash: head,
		Sig: c.Identity.Sign(transparency.AuditHeadMessage(c.DeviceID, caseID, seq, head))}
}

// BlobsMissing asks which blobs of a case the server lacks.
func (c *Client) BlobsMissing(ctx context.Context, caseID string, ids []record.RevID) ([]record.RevID, error) {
	var resp protocol.BlobsMissingResponse
	err := c.doJSON(ctx, "POST", protocol.PathBlobsMiss, protocol.BlobsMissingRequest{CaseID: caseID, IDs: ids}, &resp)
	return resp.Missing, err
}

// UploadBlobs uploads blobs to a case.
func (c *Client) UploadBlobs(ctx context.Context, caseID string, blobs []protocol.Blob) (protocol.BlobsResponse, error) {
	var resp protocol.BlobsResponse
	hdr := http.Header{protocol.HeaderCase: {caseID}, "Content-Type": {"application/octet-stream"}}
	b, _, err := c.Do(ctx, "POST", protocol.PathBlobs, hdr, protocol.EncodeBlobs(blobs))
	if err != nil {
		return resp, err
	}
	return resp, json.Unmarshal(b, &resp)
}

// GetBlob downloads one blob.
func (c *Client) GetBlob(ctx context.Context, caseID string, id record.RevID) ([]byte, error) {
	b, _, err := c.Do(ctx, "GET", protocol.PathBlobs+"/"+caseID+"/"+id.String(), nil, nil)
	return b, err
}

// Writer makes a device's revisions: valid, sealed ids, sequence numbers 1,
// 2, 3, …, signed with Sign (nil: unsigned) and random opaque bodies (the
// server never opens them; a keyring's body says its epoch).
type Writer struct {
	Device string
	Seq    uint64
	Sign   func(msg []byte) []byte
}

// Rev makes the next revision of recordID in caseID.
func (w *Writer) Rev(kind record.Kind, caseID, recordID string, parents ...*record.Revision) *record.Revision {
	body := make([]byte, 64)
	rand.Read(body)
	if kind == record.KindKeyring {
		var epoch uint32 = 1
		fmt.Sscanf(recordID[len(caseID):], ".k%d", &epoch)
		body = sealed.Keyring{Epoch: epoch, Wrapped: body}.Marshal()
	}
	return w.RevWith(kind, caseID, recordID, false, body, parents...)
}

// RevWith makes the next revision with a given body, or a tombstone.
func (w *Writer) RevWith(kind record.Kind, caseID, recordID string, deleted bool, body []byte, parents ...*record.Revision) *record.Revision {
	w.Seq++
	r := &record.Revision{RecordID: recordID, Kind: kind, CaseID: caseID, Generation: 1,
		HLC: record.HLC(w.Seq << 16), Device: w.Device, Seq: w.Seq, Deleted: deleted, Body: body}
	for _, p := range parents {
		r.Parents = append(r.Parents, p.Rev)
		r.Generation = max(r.Generation, p.Generation+1)
	}
	r.Seal()
	if w.Sign != nil {
		r.Sign(w.Sign)
	}
	return r
}

// Keyring makes the next revision of a case's keyring at epoch.
func (w *Writer) Keyring(caseID string, epoch uint32, parents ...*record.Revision) *record.Revision {
	return w.Rev(record.KindKeyring, caseID, record.KeyringID(caseID, epoch), parents...)
}

// NewCase makes a case's first two revisions: its keyring record and its
// case record.
func (w *Writer) NewCase(caseID string) []*record.Revision {
	return []*record.Revision{
		w.Keyring(caseID, 1),
		w.Rev(record.KindCase, caseID, caseID),
	}
}

// Agency is a test agency: a signing key made at test time, and the
// statements an administrator's fieldcased signs with it.
type Agency struct {
	Key *trust.AgencyKey
}

// NewAgency makes a test agency.
func NewAgency() (*Agency, error) {
	k, err := trust.GenerateAgencyKey()
	if err != nil {
		return nil, err
	}
	return &Agency{Key: k}, nil
}

// Public is the agency key in its text form.
func (a *Agency) Public() string { return trust.FormatAgencyKey(a.Key.Public()) }

// Sign signs a statement, issued now.
func (a *Agency) Sign(s trust.Statement) trust.Signed {
	if s.Issued.IsZero() {
		s.Issued = time.Now()
	}
	return a.Key.Sign(s)
}

// Team names a team.
func (a *Agency) Team(id, name string) trust.Signed {
	return a.Sign(trust.Statement{Kind: trust.KindTeam, Team: id, Name: name})
}

// User says who a user is (version 1).
func (a *Agency) User(id, name string, role trust.Role, team string) trust.Signed {
	return a.Sign(trust.Statement{Kind: trust.KindUser, User: id, Name: name, Role: role, Team: team, Version: 1})
}

// Grant makes an enrolment code for user, valid for ttl, and its grant.
func (a *Agency) Grant(user string, ttl time.Duration) (trust.Code, trust.Signed) {
	c := trust.NewCode(a.Key.Public())
	return c, a.Sign(trust.Statement{Kind: trust.KindGrant, Grant: c.GrantID(), User: user,
		Key: c.Key().Public().(ed25519.PublicKey), Expires: time.Now().Add(ttl)})
}

// Recovery names the recovery recipient.
func (a *Agency) Recovery(recipient string, version uint64) trust.Signed {
	return a.Sign(trust.Statement{Kind: trust.KindRecovery, Recipient: recipient, Version: version})
}

// Revoke revokes a device: its writes after afterSeq do not count.
func (a *Agency) Revoke(device string, afterSeq uint64, reason string) trust.Signed {
	return a.Sign(trust.Statement{Kind: trust.KindRevoke, Device: device, AfterSeq: afterSeq, Reason: reason})
}
