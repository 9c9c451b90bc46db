package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

// Item is a record as the user sees it: the winning head's value, and every
// version when the record is in conflict.
type Item[T any] struct {
	ID       string
	CaseID   string
	Value    T // the winner's body; zero when deleted or sealed
	Rev      record.RevID
	HLC      record.HLC
	Device   string
	Deleted  bool
	Conflict bool // more than one head: shown, never silently resolved
	Unsynced bool // a head waits in the outbox
	Sealed   bool // no key on this device: kept as ciphertext
	Loading  bool // not decrypted yet (notes load after unlock)
	Versions []Version[T]
}

// Version is one head of a record in conflict.
type Version[T any] struct {
	Rev     record.RevID
	HLC     record.HLC
	Device  string
	Deleted bool
	Sealed  bool
	Value   T
}

// Updated is when the winning version was written.
func (it Item[T]) Updated() time.Time { return it.HLC.Time() }

// Parents are the heads an edit of this item supersedes when the user has
// seen every version (a merge); an ordinary edit supersedes only Rev.
func (it Item[T]) Parents() []record.RevID {
	if len(it.Versions) == 0 {
		return []record.RevID{it.Rev}
	}
	ps := make([]record.RevID, len(it.Versions))
	for i, v := range it.Versions {
		ps[i] = v.Rev
	}
	return ps
}

func itemOf[T any](ws *workingSet, e *entry) Item[T] {
	w := e.winner()
	it := Item[T]{
		ID: e.id, CaseID: e.caseID, Rev: w.Rev, HLC: w.HLC, Device: w.Device, Deleted: w.Deleted,
		Conflict: len(e.heads) > 1,
		Sealed:   errorsIsNoKey(w.Err),
		Loading:  !w.loaded && !w.Deleted,
	}
	if p, ok := w.Value.(*T); ok && p != nil {
		it.Value = *p
	}
	for _, h := range e.heads {
		if ws.outbox[h.Rev] {
			it.Unsynced = true
		}
	}
	if it.Conflict {
		for _, h := range e.heads {
			v := Version[T]{Rev: h.Rev, HLC: h.HLC, Device: h.Device, Deleted: h.Deleted, Sealed: errorsIsNoKey(h.Err)}
			if p, ok := h.Value.(*T); ok && p != nil {
				v.Value = *p
			}
			it.Versions = append(it.Versions, v)
		}
	}
	return it
}

func errorsIsNoKey(err error) bool { return err == ErrNoKey }

// CaseView is a case with what the case list shows about it.
type CaseView struct {
	Item[record.Case]
	Notes        int // live notes
	OpenTasks    int
	OverdueTasks int
	NextTask     record.Date // earliest open task due
	LastActivity record.HLC  // newest write to any of the case's records
	Conflicts    int         // records of this case in conflict, the case itself included
	Pending      int         // records of this case with unsynced changes
	// Reassigned is set when the case was taken away from this laptop's
	// user (signed keyrings say so): it is read-only here.
	Reassigned *Reassignment
}

// Due is the date the case next needs a visit: the case's next-visit date
// or its earliest open task, whichever is first.
func (c CaseView) Due() record.Date {
	d := c.Value.NextVisit
	if c.NextTask != "" && (d == "" || c.NextTask < d) {
		d = c.NextTask
	}
	return d
}

// Overdue reports whether the case's due date is before today.
func (c CaseView) Overdue(today record.Date) bool { return c.Due().Before(today) }

func (v *Vault) locked() (*workingSet, error) {
	if v.ws == nil {
		return nil, ErrLocked
	}
	return v.ws, nil
}

func caseView(ws *workingSet, e *entry, today record.Date) CaseView {
	cv := CaseView{Item: itemOf[record.Case](ws, e)}
	for _, r := range ws.cases[e.caseID] {
		w := r.winner()
		cv.LastActivity = max(cv.LastActivity, w.HLC)
		if len(r.heads) > 1 {
			cv.Conflicts++
		}
		for _, h := range r.heads {
			if len(ws.outbox) == 0 { // a synced vault: no lookups (a 32-byte hash each) to make
				break
			}
			if ws.outbox[h.Rev] {
				cv.Pending++
				break
			}
		}
		if w.Deleted {
			continue
		}
		switch r.kind {
		case record.KindNote:
			cv.Notes++
		case record.KindTask:
			if t, ok := w.Value.(*record.Task); ok && !t.Done {
				cv.OpenTasks++
				if t.Due.Before(today) {
					cv.OverdueTasks++
				}
				if t.Due != "" && (cv.NextTask == "" || t.Due < cv.NextTask) {
					cv.NextTask = t.Due
				}
			}
		}
	}
	return cv
}

// Cases lists every case that is not deleted, by reference.
func (v *Vault) Cases() ([]CaseView, error) {
	out, err := v.cases()
	if err != nil {
		return nil, err
	}
	return out, v.fillReassigned(out)
}

func (v *Vault) cases() ([]CaseView, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ws, err := v.locked()
	if err != nil {
		return nil, err
	}
	today := record.DateOf(time.Now())
	out := make([]CaseView, 0, len(ws.cases))
	for id, m := range ws.cases {
		e := m[id]
		if e == nil || e.kind != record.KindCase {
			continue // records of a case whose case record this device lacks
		}
		cv := caseView(ws, e, today)
		if cv.Deleted && !cv.Conflict {
			continue
		}
		out = append(out, cv)
	}
	slices.SortFunc(out, func(a, b CaseView) int { return cmp.Compare(a.Value.Ref, b.Value.Ref) })
	return out, nil
}

// Case returns one case by id.
func (v *Vault) Case(id string) (CaseView, error) {
	cv, err := v.caseByID(id)
	if err != nil {
		return cv, err
	}
	one := []CaseView{cv}
	err = v.fillReassigned(one)
	return one[0], err
}

func (v *Vault) caseByID(id string) (CaseView, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ws, err := v.locked()
	if err != nil {
		return CaseView{}, err
	}
	e := ws.records[id]
	if e == nil || e.kind != record.KindCase {
		return CaseView{}, ErrNotFound
	}
	return caseView(ws, e, record.DateOf(time.Now())), nil
}

// CaseByRef finds a case by its reference (case-insensitive) or id.
func (v *Vault) CaseByRef(ref string) (CaseView, error) {
	v.mu.RLock()
	ws, err := v.locked()
	var id string
	if err == nil {
		id = ws.refs[strings.ToLower(strings.TrimSpace(ref))]
		if id == "" {
			if e := ws.records[ref]; e != nil && e.kind == record.KindCase {
				id = ref
			}
		}
	}
	v.mu.RUnlock()
	if err != nil {
		return CaseView{}, err
	}
	if id == "" {
		return CaseView{}, ErrNotFound
	}
	return v.Case(id)
}

// items lists the live records of one kind in a case.
func items[T any](v *Vault, caseID string, kind record.Kind) ([]Item[T], error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ws, err := v.locked()
	if err != nil {
		return nil, err
	}
	var out []Item[T]
	for _, e := range ws.cases[caseID] {
		if e.kind != kind {
			continue
		}
		it := itemOf[T](ws, e)
		if it.Deleted && !it.Conflict {
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

// Notes lists a case's notes, newest first (by note date, then write time),
// with their text.
func (v *Vault) Notes(caseID string) ([]Item[record.Note], error) {
	out, err := items[record.Note](v, caseID, record.KindNote)
	if err == nil {
		var bad map[int]bool
		bad, err = v.fillTexts(out)
		out = dropBad(out, bad)
	}
	slices.SortFunc(out, func(a, b Item[record.Note]) int {
		if c := cmp.Compare(b.Value.Date, a.Value.Date); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Value.Time, a.Value.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.HLC, a.HLC)
	})
	return out, err
}

// Note returns one note by id, with its text.
func (v *Vault) Note(id string) (Item[record.Note], error) {
	var it []Item[record.Note]
	err := v.read(func(ws *workingSet) error {
		e := ws.records[id]
		if e == nil || e.kind != record.KindNote {
			return ErrNotFound
		}
		it = append(it, itemOf[record.Note](ws, e))
		return nil
	})
	if err == nil {
		var bad map[int]bool
		if bad, err = v.fillTexts(it); err == nil && bad[0] {
			err = fmt.Errorf("%w: note %s", ErrCorrupt, id)
		}
	}
	if err != nil {
		return Item[record.Note]{}, err
	}
	return it[0], nil
}

// read runs fn on the working set under the read lock.
func (v *Vault) read(fn func(ws *workingSet) error) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ws, err := v.locked()
	if err != nil {
		return err
	}
	return fn(ws)
}

// fillTexts decrypts the text of notes, which the working set does not keep,
// and the whole body of notes not loaded yet. Nothing decrypted is stored.
// A note whose revision no longer checks out or opens is damage: it is
// named in bad (by index) and in Damaged, and taken out of the working set;
// the others are filled.
func (v *Vault) fillTexts(items []Item[record.Note]) (bad map[int]bool, err error) {
	var damage []Damage
	err = v.withKeys(func(keys *crypto.Keyring, _ *crypto.CaseKey) error {
		return v.view(func(tx *bolt.Tx) error {
			revs := tx.Bucket(bucketRevs)
			read := func(caseID, id string, rev record.RevID) (n record.Note, device string, sealed bool, err error) {
				b := revs.Get(revKey(caseID, id, rev))
				if b == nil {
					return n, "", false, fmt.Errorf("%w: revision %s missing", ErrCorrupt, rev.Short())
				}
				r, _, err := record.UnmarshalRevision(b)
				if err != nil {
					return n, "", false, fmt.Errorf("%w: %v", ErrCorrupt, err)
				}
				if r.Rev != rev || r.CaseID != caseID || r.RecordID != id || r.Kind != record.KindNote || r.ComputeRev() != rev {
					return n, "", false, fmt.Errorf("%w: revision %s is not the one its key names", ErrCorrupt, rev.Short())
				}
				val, err := v.decode(keys, r)
				if errors.Is(err, ErrNoKey) {
					return n, r.Device, true, nil
				}
				if err != nil {
					return n, "", false, err
				}
				p, ok := val.(*record.Note)
				if !ok {
					return n, "", false, fmt.Errorf("%w: body", ErrCorrupt)
				}
				return *p, r.Device, false, nil
			}
			for i := range items {
				it := &items[i]
				fail := func(err error) {
					if bad == nil {
						bad = map[int]bool{}
					}
					bad[i] = true
					damage = append(damage, Damage{CaseID: it.CaseID, RecordID: it.ID, Kind: record.KindNote, Problem: problem(err)})
				}
				if !it.Deleted && !it.Sealed && (it.Loading || it.Value.Text == "") {
					n, dev, sealed, err := read(it.CaseID, it.ID, it.Rev)
					if err != nil {
						fail(err)
						continue
					}
					it.Value, it.Device, it.Sealed, it.Loading = n, dev, sealed, false
				}
				for k := range it.Versions {
					ver := &it.Versions[k]
					if !ver.Deleted && !ver.Sealed && ver.Value.Text == "" {
						n, dev, sealed, err := read(it.CaseID, it.ID, ver.Rev)
						if err != nil {
							fail(err)
							break
						}
						ver.Value, ver.Device, ver.Sealed = n, dev, sealed
					}
				}
			}
			return nil
		})
	})
	v.markDamaged(damage...)
	return bad, err
}

// dropBad returns items without those at the indexes in bad.
func dropBad[T any](items []T, bad map[int]bool) []T {
	if len(bad) == 0 {
		return items
	}
	out := items[:0]
	for i, it := range items {
		if !bad[i] {
			out = append(out, it)
		}
	}
	return out
}

// Consents lists a case's consent decisions, newest first.
func (v *Vault) Consents(caseID string) ([]Item[record.Consent], error) {
	out, err := items[record.Consent](v, caseID, record.KindConsent)
	slices.SortFunc(out, func(a, b Item[record.Consent]) int {
		if c := cmp.Compare(b.Value.Date, a.Value.Date); c != 0 {
			return c
		}
		return cmp.Compare(b.HLC, a.HLC)
	})
	return out, err
}

// Tasks lists a case's tasks and visits: open ones first, by due date.
func (v *Vault) Tasks(caseID string) ([]Item[record.Task], error) {
	out, err := items[record.Task](v, caseID, record.KindTask)
	slices.SortFunc(out, func(a, b Item[record.Task]) int {
		if a.Value.Done != b.Value.Done {
			if a.Value.Done {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Value.Due, b.Value.Due), cmp.Compare(a.Value.Title, b.Value.Title), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

// Hit is one note found by Search.
type Hit struct {
	NoteID  string
	CaseID  string
	Ref     string
	Subject string
	Date    record.Date
	Time    string     // "15:04", or ""
	HLC     record.HLC // when the note was written
	Kind    string
	Snippet string
}

// Search finds notes holding every word of q (the last word as a prefix),
// newest first, at most limit (0: no limit). It searches the decrypted
// in-memory index only; before LoadNotes finishes it searches what is loaded.
func (v *Vault) Search(q string, limit int) ([]Hit, error) {
	var hits []Hit
	var texts []Item[record.Note]
	err := v.read(func(ws *workingSet) error {
		for _, id := range ws.index.query(q) {
			e := ws.records[id]
			if e == nil {
				continue
			}
			n, ok := e.winner().Value.(*record.Note)
			if !ok {
				continue
			}
			h := Hit{NoteID: id, CaseID: e.caseID, Date: n.Date, Time: n.Time, HLC: e.winner().HLC, Kind: n.Kind}
			if ce := ws.records[e.caseID]; ce != nil {
				if c, ok := ce.winner().Value.(*record.Case); ok {
					h.Ref, h.Subject = c.Ref, c.Subject
				}
			}
			hits = append(hits, h)
		}
		// Newest first, as Notes orders a case's notes, so the limit keeps the
		// newest and the order never depends on random ids.
		slices.SortFunc(hits, func(a, b Hit) int {
			return cmp.Or(cmp.Compare(b.Date, a.Date), cmp.Compare(b.Time, a.Time), cmp.Compare(b.HLC, a.HLC), cmp.Compare(a.NoteID, b.NoteID))
		})
		if limit > 0 && len(hits) > limit {
			hits = hits[:limit]
		}
		for _, h := range hits {
			texts = append(texts, itemOf[record.Note](ws, ws.records[h.NoteID]))
		}
		return nil
	})
	var bad map[int]bool
	if err == nil {
		bad, err = v.fillTexts(texts)
	}
	if err != nil {
		return nil, err
	}
	for i := range hits {
		hits[i].Snippet = snippet(texts[i].Value.Text, q, 100)
	}
	return dropBad(hits, bad), nil
}

// Stats are the counts a status bar shows.
type Stats struct {
	Cases, Notes, Consents, Tasks int
	Outbox                        int
	Conflicts                     int
	Sealed                        int // records this device holds no key for
	NotesLoaded                   bool
}

// Stats counts the working set.
func (v *Vault) Stats() (Stats, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ws, err := v.locked()
	if err != nil {
		return Stats{}, err
	}
	s := Stats{Outbox: len(ws.outbox), NotesLoaded: ws.notesLoaded}
	for _, e := range ws.records {
		w := e.winner()
		if len(e.heads) > 1 {
			s.Conflicts++
		}
		if errorsIsNoKey(w.Err) {
			s.Sealed++
		}
		if w.Deleted && len(e.heads) == 1 {
			continue
		}
		switch e.kind {
		case record.KindCase:
			s.Cases++
		case record.KindNote:
			s.Notes++
		case record.KindConsent:
			s.Consents++
		case record.KindTask:
			s.Tasks++
		}
	}
	return s, nil
}

// Heads returns every record's heads (sorted), by record id: what two
// devices compare to know they hold the same versions.
func (v *Vault) Heads() (map[string][]record.RevID, error) {
	out := map[string][]record.RevID{}
	err := v.read(func(ws *workingSet) error {
		for id, e := range ws.records {
			hs := make([]record.RevID, len(e.heads))
			for i, h := range e.heads {
				hs[i] = h.Rev
			}
			record.SortRevs(hs)
			out[id] = hs
		}
		return nil
	})
	return out, err
}

// Recordings lists a case's recordings, newest first.
func (v *Vault) Recordings(caseID string) ([]Item[record.Recording], error) {
	out, err := items[record.Recording](v, caseID, record.KindRecording)
	slices.SortFunc(out, func(a, b Item[record.Recording]) int {
		return cmp.Or(cmp.Compare(b.Value.Recorded, a.Value.Recorded), cmp.Compare(b.HLC, a.HLC))
	})
	return out, err
}

// Recording returns one recording by id.
func (v *Vault) Recording(id string) (Item[record.Recording], error) {
	var it Item[record.Recording]
	err := v.read(func(ws *workingSet) error {
		e := ws.records[id]
		if e == nil || e.kind != record.KindRecording {
			return ErrNotFound
		}
		it = itemOf[record.Recording](ws, e)
		return nil
	})
	return it, err
}

// CaseIDs lists every case the working set holds records of, sorted: a
// case whose case record this device lacks, or which is deleted, too.
// The views computed from the working set (package caseload) start here.
func (v *Vault) CaseIDs() ([]string, error) {
	var out []string
	err := v.read(func(ws *workingSet) error {
		out = make([]string, 0, len(ws.cases))
		for id := range ws.cases {
			out = append(out, id)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}
