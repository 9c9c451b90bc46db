package tui

import (
	"maps"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/internal/i18n"
	"github.com/fieldcase/fieldcase/store"
)

// draftPrompt offers back the drafts found after an unlock: notes that were
// being typed when fieldcase last stopped (a quit, a lock, a crash, a flat
// battery). Resume opens the editor on one; discard deletes it; later
// leaves them for when the case is opened again.
type draftPrompt struct {
	env     *env
	drafts  []draftRow
	cursor  int
	confirm bool
	errText string
	w, h    int
}

// draftRow is a draft with the case it belongs to.
type draftRow struct {
	draft   store.Draft
	ref     string
	subject string
}

type (
	// draftsFoundMsg lists the drafts in the vault (sent after unlock).
	draftsFoundMsg struct{ Drafts []draftRow }
	// draftDroppedMsg reports the deletion of a draft from the prompt.
	draftDroppedMsg struct {
		key string
		err error
	}
)

func checkDraftsCmd(l *i18n.Locale, v *store.Vault) tea.Cmd {
	return func() tea.Msg {
		ds, err := v.Drafts()
		if err != nil {
			return noticeMsg{Text: l.T("tui.drafts.read_failed", "Err", err.Error()), Err: true}
		}
		rows := make([]draftRow, 0, len(ds))
		for _, d := range ds {
			r := draftRow{draft: d, ref: l.T("tui.drafts.unknown_case")}
			if d.Form == store.DraftCase && d.CaseID == "" {
				r.ref = l.T("tui.drafts.new_case_ref")
			} else if cv, err := v.Case(d.CaseID); err == nil {
				r.ref, r.subject = cv.Value.Ref, cv.Value.Subject
			}
			rows = append(rows, r)
		}
		return draftsFoundMsg{Drafts: rows}
	}
}

func newDraftPrompt(e *env, rows []draftRow) *draftPrompt { return &draftPrompt{env: e, drafts: rows} }

func (p *draftPrompt) Init() tea.Cmd { return nil }

func (p *draftPrompt) Title() string { return p.env.l.T("tui.drafts.title") }

func (p *draftPrompt) Typing() bool { return false }

func (p *draftPrompt) SetSize(w, h int) { p.w, p.h = w, h }

func (p *draftPrompt) ShortHelp() []key.Binding {
	k := p.env.keys.draftPrompt
	if p.confirm {
		return k.Confirm.ShortHelp()
	}
	return k.ShortHelp()
}

func (p *draftPrompt) FullHelp() [][]key.Binding {
	return p.env.keys.draftPrompt.FullHelp()
}

func (p *draftPrompt) Update(msg tea.Msg) (component, tea.Cmd) {
	k := p.env.keys.draftPrompt
	switch msg := msg.(type) {
	case draftDroppedMsg:
		if msg.err != nil {
			p.errText = p.env.l.T("tui.drafts.discard_failed", "Err", p.env.writeErr(msg.err))
			return p, nil
		}
		for i, r := range p.drafts {
			if r.draft.Key == msg.key {
				p.drafts = append(p.drafts[:i], p.drafts[i+1:]...)
				break
			}
		}
		p.cursor = min(p.cursor, max(0, len(p.drafts)-1))
		if len(p.drafts) == 0 {
			return p, back(p.env.l.T("tui.common.draft_discarded"), false)
		}
		return p, nil
	case tea.KeyPressMsg:
		p.errText = ""
		if p.confirm {
			switch {
			case key.Matches(msg, k.Confirm.Yes):
				p.confirm = false
				v, dk := p.env.vault, p.drafts[p.cursor].draft.Key
				return p, p.env.io(func() tea.Msg { return draftDroppedMsg{key: dk, err: v.DeleteDraft(dk)} })
			case key.Matches(msg, k.Confirm.No):
				p.confirm = false
			}
			return p, nil
		}
		switch {
		case key.Matches(msg, k.Up):
			p.cursor = max(0, p.cursor-1)
		case key.Matches(msg, k.Down):
			p.cursor = min(len(p.drafts)-1, p.cursor+1)
		case key.Matches(msg, k.Resume):
			r := p.drafts[p.cursor]
			return p, cmdOf(resumeDraft(r.draft, r.ref))
		case key.Matches(msg, k.DiscardDraft):
			p.confirm = true
		case key.Matches(msg, k.Back):
			return p, back(p.env.l.T("tui.drafts.kept"), false)
		}
	}
	return p, nil
}

func (p *draftPrompt) View() string {
	st, l := p.env.st, p.env.l
	var b strings.Builder
	b.WriteString(st.Title.Render(l.T("tui.drafts.heading")) + "\n")
	b.WriteString(st.Muted.Render(l.T("tui.drafts.explain")) + "\n\n")
	for i, r := range p.drafts {
		what, text := draftSummary(l, r.draft)
		head := r.ref + "  " + r.subject + sepDot + what
		if !r.draft.Saved.IsZero() {
			head += sepDot + l.T("tui.drafts.saved_at", "When", dayTime(l, r.draft.Saved.Local()))
		}
		if i == p.cursor {
			b.WriteString(st.Selected.Render(fitLine("▸ "+head, p.w)) + "\n") // i18n: the cursor
		} else {
			b.WriteString(fitLine("  "+head, p.w) + "\n")
		}
		b.WriteString(fitLine(st.Muted.Render("    “"+text+"”"), p.w) + "\n") // i18n: quotation marks
	}
	b.WriteString("\n")
	switch {
	case p.confirm:
		b.WriteString(st.Warn.Render(l.T("tui.common.confirm_discard")))
	case p.errText != "":
		b.WriteString(st.Error.Render(p.errText))
	}
	return b.String()
}

// draftSummary is what a draft is of ("new note · visit 2026-11-02") and
// the start of what was typed in it.
func draftSummary(l *i18n.Locale, d store.Draft) (what, text string) {
	switch d.Form {
	case "":
		what = l.T("tui.drafts.what.new_note")
		if d.NoteID != "" {
			what = l.T("tui.drafts.what.edit_note")
		}
		return what + sepDot + valueWord(l, d.Note.Kind) + " " + string(d.Note.Date), strings.Join(strings.Fields(d.Note.Text), " ")
	case store.DraftCase:
		what = l.T("tui.drafts.what.new_case")
		if d.CaseID != "" {
			what = l.T("tui.drafts.what.edit_case")
		}
	case store.DraftConsent:
		what = l.T("tui.drafts.what.consent")
	case store.DraftTask:
		what = l.T("tui.drafts.what.task")
	default:
		what = l.T("tui.drafts.what.form", "Form", d.Form)
	}
	// The fields by the keys the draft keeps them under (English labels).
	keys := slices.Sorted(maps.Keys(d.Fields))
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(strings.Fields(d.Fields[k]), " "))
	}
	return what, strings.Join(parts, sepDot)
}
