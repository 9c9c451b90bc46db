package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/fieldcase/fieldcase/sync/protocol"
)

// apiError is an answer other than success: an HTTP status, a protocol
// error code and a reason a person can read.
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.msg }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, protocol.CodeBadRequest, format, args...)
}

func forbidden(format string, args ...any) *apiError {
	return errf(http.StatusForbidden, protocol.CodeForbidden, format, args...)
}

// asAPIError turns any handler error into the answer to send.
func asAPIError(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return errf(http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "request body is over the %d-byte limit", mbe.Limit)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errf(http.StatusServiceUnavailable, protocol.CodeUnavailable, "request cancelled")
	}
	return errf(http.StatusInternalServerError, protocol.CodeInternal, "internal error")
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		secs := int((e.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, e.status, &protocol.Error{Code: e.code, Message: e.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","error":"internal error"}`)
	}
	w.Header().Set("Content-Type", protocol.MediaJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// readBody reads a whole request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, errTooSlow) {
			return nil, err
		}
		return nil, badRequest("reading request body: %v", err)
	}
	return b, nil
}

// decodeJSON reads one JSON value of at most protocol.MaxJSONBytes into v.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := readBody(w, r, protocol.MaxJSONBytes)
	if err != nil {
		return err
	}
	if err := unmarshalStrict(b, v); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

// unmarshalStrict decodes exactly one JSON value (trailing data is an
// error; unknown fields are ignored, so newer clients can add some).
func unmarshalStrict(b []byte, v any) error {
	var raw json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("expected a JSON object")
	}
	return json.Unmarshal(raw, v)
}
