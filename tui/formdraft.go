package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/store"
)

// formDraft keeps a form's unsaved input (the case, consent and task
// forms) as a draft sealed in the vault, through the autosave machine: a
// few seconds after each change, and at a quit or a lock. The draft holds
// only the fields that differ from what the form opened with, and is
// offered back (restored into the fields) when the same form opens again.
// Saving the form deletes the draft with the record it becomes; discarding
// deletes it.
type formDraft struct {
	env   *env
	id    int64
	f     *form
	draft store.Draft // key, case, form
	base  formValues  // what the form opened with
	as    *autosave[formValues]
	info  string // the draft was restored, and from when
}

// formDraftFoundMsg carries the draft of a form found in the vault.
type formDraftFoundMsg struct {
	id    int64
	draft store.Draft
	err   error
}

// newFormDraft starts the draft of form (store.DraftCase…) of a case
// ("" for a new case) once f holds what it opened with.
func newFormDraft(e *env, form, caseID string, f *form) *formDraft {
	d := &formDraft{env: e, id: editorIDs.Add(1), f: f, base: f.snapshot(),
		draft: store.Draft{Key: store.FormDraftKey(form, caseID), CaseID: caseID, Form: form}}
	v := e.vault
	d.as = newAutosave(e, d.id, d.base, false, sameValues,
		func(fv formValues) bool { return sameValues(fv, d.base) },
		func(fv formValues) error { return persistDraft(v, d.of(fv)) })
	return d
}

// of is the draft keeping fv.
func (d *formDraft) of(fv formValues) store.Draft {
	dr := d.draft
	dr.Fields = fv.diff(d.base)
	return dr
}

// find looks for this form's draft in the vault.
func (d *formDraft) find() tea.Cmd {
	v, id, key := d.env.vault, d.id, d.draft.Key
	return d.env.io(func() tea.Msg {
		ds, err := v.Drafts()
		if err != nil {
			return formDraftFoundMsg{id: id, err: err}
		}
		for _, dr := range ds {
			if dr.Key == key {
				return formDraftFoundMsg{id: id, draft: dr}
			}
		}
		return nil
	})
}

// PendingDraft is the draft to seal at a quit or a lock.
func (d *formDraft) PendingDraft() (store.Draft, bool) {
	fv := d.f.snapshot()
	return d.of(fv), d.as.pending(fv)
}

// update takes the draft's messages (ok false for any other).
func (d *formDraft) update(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	if m, found := msg.(formDraftFoundMsg); found {
		if m.id != d.id {
			return nil, true
		}
		if m.err != nil {
			d.env.logErr("reading a form's draft", m.err)
			d.info = d.env.l.T("tui.formdraft.read_failed", "Err", d.env.writeErr(m.err))
			return nil, true
		}
		kept := d.f.snapshot()
		for k, s := range m.draft.Fields {
			kept[k] = s
		}
		d.f.restore(kept)
		d.as.restore(d.f.snapshot())
		d.info = d.env.l.T("tui.formdraft.restored", "When", dayTime(d.env.l, m.draft.Saved.Local()))
		return nil, true
	}
	cmd, ok = d.as.update(msg, d.f.snapshot)
	if _, saved := msg.(autosavedMsg); ok && saved && d.as.err != nil {
		d.env.logErr("saving a form's draft", d.as.err)
	}
	return cmd, ok
}

// edited is called after a change of a field.
func (d *formDraft) edited() tea.Cmd {
	d.info = ""
	return d.as.edited(d.f.snapshot())
}

// changed reports input that esc would lose: typed, or a draft restored.
func (d *formDraft) changed() bool { return d.as.pending(d.f.snapshot()) || d.as.hasSaved }

// commit runs save (which writes the record and deletes the draft, in one
// transaction where it can) after the autosave under way.
func (d *formDraft) commit(save func() tea.Msg) tea.Cmd { return d.as.final(d.env.io(save), false) }

// discard deletes the draft, then sends done(err).
func (d *formDraft) discard(done func(error) tea.Msg) tea.Cmd {
	v, key := d.env.vault, d.draft.Key
	return d.as.final(d.env.io(func() tea.Msg { return done(v.DeleteDraft(key)) }), false)
}

// ended takes the result of commit or discard.
func (d *formDraft) ended(err error) tea.Cmd {
	if err != nil {
		return d.as.failed(d.f.snapshot())
	}
	d.as.ended()
	return nil
}

// state is the draft's state for the form's title line.
func (d *formDraft) state() string { return d.as.state(d.f.snapshot()) }

// line is what the form's message line says about the draft: why an
// autosave failed, or that a draft was restored; "" otherwise.
func (d *formDraft) line(st *styles) string {
	switch {
	case d.as.err != nil:
		return st.Error.Render(d.env.l.T("tui.formdraft.draft_failed", "Err", d.env.writeErr(d.as.err)))
	case d.info != "":
		return st.Notice.Render(d.info)
	}
	return ""
}

// formDraftDiscardedMsg reports discarding a form's draft.
type formDraftDiscardedMsg struct {
	id  int64
	err error
}
