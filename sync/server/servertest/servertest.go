package servertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
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

// Enroll enrols a new device (with a fresh identity) using code.
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
	c := &Client{BaseURL: baseURL, HTTP: hc, DeviceID: deviceID}
	req := protocol.EnrollRequest{Code: code, DeviceID: deviceID, DeviceName: deviceID + " laptop",
		Recipient: id.Recipient(), SigningKey: id.SigningPublicKey(), Protocol: protocol.Version}
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

// Roster fetches the team roster.
func (c *Client) Roster(ctx context.Context) (protocol.Roster, error) {
	var r protocol.Roster
	err := c.doJSON(ctx, "GET", protocol.PathRoster, nil, &r)
	return r, err
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
// 2, 3, … and random opaque bodies (the server never opens them).
type Writer struct {
	Device string
	Seq    uint64
}

// Rev makes the next revision of recordID in caseID.
func (w *Writer) Rev(kind record.Kind, caseID, recordID string, parents ...*record.Revision) *record.Revision {
	w.Seq++
	body := make([]byte, 64)
	rand.Read(body)
	r := &record.Revision{RecordID: recordID, Kind: kind, CaseID: caseID, Generation: 1,
		HLC: record.HLC(w.Seq << 16), Device: w.Device, Seq: w.Seq, Body: body}
	for _, p := range parents {
		r.Parents = append(r.Parents, p.Rev)
		r.Generation = max(r.Generation, p.Generation+1)
	}
	r.Seal()
	return r
}

// NewCase makes a case's first two revisions: its keyring record and its
// case record.
func (w *Writer) NewCase(caseID string) []*record.Revision {
	return []*record.Revision{
		w.Rev(record.KindKeyring, caseID, record.KeyringID(caseID, 1)),
		w.Rev(record.KindCase, caseID, caseID),
	}
}
