package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/fieldcase/fieldcase/record"
)

// JSON Lines is how an agency migrates from its old system and how large
// vaults are built in one unlock. Each line is one record:
//
//	{"type":"case","ref":"R-1","subject":"…", …case fields}
//	{"type":"note","case":"R-1","kind":"visit","text":"…", …note fields}
//	{"type":"consent","case":"R-1","person":"…","scope":["health"],"decision":"given"}
//	{"type":"task","case":"R-1","title":"…","due":"2026-12-01"}
//
// "id" is optional (generated when absent); "case" is a reference or a case
// id. Export writes the same form, with ids, so an export imports again.

// lineMeta are the fields every line may carry besides the body's own.
type lineMeta struct {
	Type     string            `json:"type"`
	ID       string            `json:"id,omitempty"`
	Case     string            `json:"case,omitempty"`
	Conflict bool              `json:"conflict,omitempty"`
	Others   []json.RawMessage `json:"other_versions,omitempty"`
}

type caseLine struct {
	lineMeta
	record.Case
}
type noteLine struct {
	lineMeta
	record.Note
}
type consentLine struct {
	lineMeta
	record.Consent
}
type taskLine struct {
	lineMeta
	record.Task
}

// ImportStats says what an import did.
type ImportStats struct {
	Cases, Notes, Consents, Tasks int
	Unchanged                     int // lines whose record already held the same content
	Flattened                     int // lines of records exported in conflict: only the top version imported
}

// LineError is a bad line of an import.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

const maxLine = 16 << 20

// Import reads JSON Lines from r and writes every record in one transaction:
// a bad line is a *LineError and nothing of the import is kept.
func (v *Vault) Import(r io.Reader) (ImportStats, error) {
	var st ImportStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	err := v.Update(func(tx *Tx) error {
		line := 0
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 || b[0] == '#' {
				continue
			}
			if err := tx.importLine(b, &st); err != nil {
				return &LineError{Line: line, Err: err}
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return &LineError{Line: line + 1, Err: fmt.Errorf("line longer than %d MiB", maxLine>>20)}
			}
			return fmt.Errorf("reading import: %w", err)
		}
		return nil
	})
	if err != nil {
		return ImportStats{}, err
	}
	return st, nil
}

func strictDecode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", record.ErrInvalid, err)
	}
	if d.More() {
		return fmt.Errorf("%w: more than one JSON value on the line", record.ErrInvalid)
	}
	return nil
}

func (tx *Tx) importLine(b []byte, st *ImportStats) error {
	var meta lineMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return fmt.Errorf("%w: not a JSON object: %v", record.ErrInvalid, err)
	}
	if meta.ID != "" {
		if err := record.ValidID(meta.ID); err != nil {
			return err
		}
	}
	if meta.Conflict || len(meta.Others) > 0 {
		st.Flattened++
	}
	switch meta.Type {
	case "case":
		var l caseLine
		if err := strictDecode(b, &l); err != nil {
			return err
		}
		l.Case.Normalize()
		if err := l.Case.Validate(); err != nil {
			return err
		}
		if meta.Case != "" {
			return fmt.Errorf("%w: a case line has no \"case\" field; use \"id\"", record.ErrInvalid)
		}
		id := meta.ID
		if id == "" || !tx.exists(id, id) {
			if owner := tx.refOwner(l.Case.Ref); owner != "" {
				return fmt.Errorf("%w: reference %s is already case %s", record.ErrInvalid, l.Case.Ref, owner)
			}
			if _, err := tx.newCase(id, l.Case); err != nil {
				return err
			}
			st.Cases++
			return nil
		}
		changed, err := tx.upsert(record.KindCase, id, id, &l.Case)
		count(changed, &st.Cases, &st.Unchanged)
		return err
	case "note":
		var l noteLine
		if err := strictDecode(b, &l); err != nil {
			return err
		}
		return tx.importChild(meta, record.KindNote, &l.Note, &st.Notes, &st.Unchanged)
	case "consent":
		var l consentLine
		if err := strictDecode(b, &l); err != nil {
			return err
		}
		return tx.importChild(meta, record.KindConsent, &l.Consent, &st.Consents, &st.Unchanged)
	case "task":
		var l taskLine
		if err := strictDecode(b, &l); err != nil {
			return err
		}
		return tx.importChild(meta, record.KindTask, &l.Task, &st.Tasks, &st.Unchanged)
	case "":
		return fmt.Errorf("%w: missing \"type\" (case, note, consent or task)", record.ErrInvalid)
	}
	return fmt.Errorf("%w: unknown type %q (case, note, consent or task)", record.ErrInvalid, meta.Type)
}

func count(changed bool, n, unchanged *int) {
	if changed {
		*n++
	} else {
		*unchanged++
	}
}

type validator interface{ Validate() error }

func (tx *Tx) importChild(meta lineMeta, kind record.Kind, body validator, n, unchanged *int) error {
	if meta.Case == "" {
		return fmt.Errorf("%w: a %s line needs \"case\" (a reference or case id)", record.ErrInvalid, kind)
	}
	caseID := tx.refOwner(meta.Case)
	if a := tx.caseAlias[meta.Case]; caseID == "" && a != "" {
		caseID = a
	}
	if caseID == "" && tx.exists(meta.Case, meta.Case) {
		caseID = meta.Case
	}
	if caseID == "" {
		return fmt.Errorf("%w: no case %q (cases must come before their records)", ErrNotFound, meta.Case)
	}
	if nb, ok := body.(*record.Note); ok {
		nb.Normalize(record.DateOf(tx.clock.Now().Time()))
	}
	if cb, ok := body.(*record.Consent); ok && cb.Date == "" {
		cb.Date = record.DateOf(tx.clock.Now().Time())
	}
	if err := body.Validate(); err != nil {
		return err
	}
	if meta.ID == "" || !tx.exists(caseID, meta.ID) {
		if _, err := tx.Put(Change{Kind: kind, CaseID: caseID, RecordID: meta.ID, Value: body}); err != nil {
			return err
		}
		*n++
		return nil
	}
	changed, err := tx.upsert(kind, caseID, meta.ID, body)
	count(changed, n, unchanged)
	return err
}

func (tx *Tx) exists(caseID, recordID string) bool {
	e, err := tx.heads(caseID, recordID)
	return err == nil && e.Kind != ""
}

// upsert writes body as a new version of an existing record unless its
// winning version already holds the same content.
func (tx *Tx) upsert(kind record.Kind, caseID, id string, body any) (bool, error) {
	e, err := tx.heads(caseID, id)
	if err != nil {
		return false, err
	}
	if e.Kind != kind {
		return false, fmt.Errorf("%w: record %s is a %s, not a %s", record.ErrInvalid, id, e.Kind, kind)
	}
	parents := make([]record.RevID, len(e.Heads))
	for i, h := range e.Heads {
		parents[i] = h.Rev
	}
	if len(e.Heads) == 1 && !e.Heads[0].Deleted {
		cur, err := tx.decodeHead(caseID, id, e.Heads[0].Rev)
		if err != nil {
			return false, err
		}
		if reflect.DeepEqual(cur, body) {
			return false, nil
		}
	}
	_, err = tx.Put(Change{Kind: kind, CaseID: caseID, RecordID: id, Parents: parents, Value: body})
	return true, err
}

// Export writes every live record as JSON Lines: cases first, then each
// case's consents, tasks and notes. A record in conflict carries
// "conflict":true and its other versions.
func (v *Vault) Export(w io.Writer) error {
	cases, err := v.Cases()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, c := range cases {
		if err := enc.Encode(caseLine{lineMeta: metaOf("case", "", c.Item), Case: c.Value}); err != nil {
			return err
		}
	}
	for _, c := range cases {
		consents, _ := v.Consents(c.ID)
		for _, it := range consents {
			if err := enc.Encode(consentLine{lineMeta: metaOf("consent", c.Value.Ref, it), Consent: it.Value}); err != nil {
				return err
			}
		}
		tasks, _ := v.Tasks(c.ID)
		for _, it := range tasks {
			if err := enc.Encode(taskLine{lineMeta: metaOf("task", c.Value.Ref, it), Task: it.Value}); err != nil {
				return err
			}
		}
		notes, _ := v.Notes(c.ID)
		slices.Reverse(notes) // oldest first reads naturally in a file
		for _, it := range notes {
			if it.Loading {
				return fmt.Errorf("export: notes are not loaded")
			}
			if err := enc.Encode(noteLine{lineMeta: metaOf("note", c.Value.Ref, it), Note: it.Value}); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func metaOf[T any](typ, ref string, it Item[T]) lineMeta {
	m := lineMeta{Type: typ, ID: it.ID, Case: ref, Conflict: it.Conflict}
	for _, o := range it.Versions[min(1, len(it.Versions)):] {
		b, _ := json.Marshal(o.Value)
		if o.Deleted {
			b = []byte(`{"deleted":true}`)
		}
		m.Others = append(m.Others, b)
	}
	return m
}
