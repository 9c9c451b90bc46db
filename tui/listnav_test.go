package tui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// navState is what a list shows: the selection, the window and the legend.
type navState struct {
	cursor, start, end int
	pos                string
}

func stateOf(v *listNav) navState {
	s, e := v.Visible()
	return navState{v.Cursor(), s, e, v.Position()}
}

func TestListNavMoves(t *testing.T) {
	// Ten items, four rows.
	tests := []struct {
		name string
		do   func(v *listNav)
		want navState
	}{
		{"start", func(v *listNav) {}, navState{0, 0, 4, "1/10"}},
		{"down within the window", func(v *listNav) { v.Move(3) }, navState{3, 0, 4, "4/10"}},
		{"down past the window drags it one row", func(v *listNav) { v.Move(4) }, navState{4, 1, 5, "5/10"}},
		{"up past the top stops at 0", func(v *listNav) { v.Move(-3) }, navState{0, 0, 4, "1/10"}},
		{"down past the end stops at the last", func(v *listNav) { v.Move(99) }, navState{9, 6, 10, "10/10"}},
		{"back up inside the window keeps it", func(v *listNav) { v.Bottom(); v.Move(-3) }, navState{6, 6, 10, "7/10"}},
		{"up past the window drags it", func(v *listNav) { v.Bottom(); v.Move(-4) }, navState{5, 5, 9, "6/10"}},
		{"page down", func(v *listNav) { v.Page(1) }, navState{4, 1, 5, "5/10"}},
		{"two pages down", func(v *listNav) { v.Page(2) }, navState{8, 5, 9, "9/10"}},
		{"page down at the end", func(v *listNav) { v.Page(3) }, navState{9, 6, 10, "10/10"}},
		{"page up from the end", func(v *listNav) { v.Bottom(); v.Page(-1) }, navState{5, 5, 9, "6/10"}},
		{"page up past the top", func(v *listNav) { v.Move(2); v.Page(-1) }, navState{0, 0, 4, "1/10"}},
		{"bottom", func(v *listNav) { v.Bottom() }, navState{9, 6, 10, "10/10"}},
		{"top from the bottom", func(v *listNav) { v.Bottom(); v.Top() }, navState{0, 0, 4, "1/10"}},
		{"select the middle", func(v *listNav) { v.Select(7) }, navState{7, 4, 8, "8/10"}},
		{"select out of range clamps", func(v *listNav) { v.Select(-5) }, navState{0, 0, 4, "1/10"}},
		{"reset", func(v *listNav) { v.Bottom(); v.Reset() }, navState{0, 0, 4, "1/10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v listNav
			v.SetHeight(4)
			v.Clamp(10)
			tt.do(&v)
			if got := stateOf(&v); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestListNavClamp(t *testing.T) {
	tests := []struct {
		name string
		do   func(v *listNav)
		want navState
	}{
		{"items shrink below the cursor", func(v *listNav) { v.Select(8); v.Clamp(5) }, navState{4, 1, 5, "5/5"}},
		{"items shrink to fit the rows", func(v *listNav) { v.Select(8); v.Clamp(3) }, navState{2, 0, 3, ""}},
		{"items shrink above the cursor's window", func(v *listNav) { v.Select(9); v.Clamp(8) }, navState{7, 4, 8, "8/8"}},
		{"items shrink to none", func(v *listNav) { v.Select(8); v.Clamp(0) }, navState{0, 0, 0, ""}},
		{"items grow: the cursor stays", func(v *listNav) { v.Select(5); v.Clamp(50) }, navState{5, 2, 6, "6/50"}},
		{"taller: the window stays at its offset", func(v *listNav) { v.Select(9); v.SetHeight(6) }, navState{9, 4, 10, "10/10"}},
		{"taller than the items", func(v *listNav) { v.Select(9); v.SetHeight(20) }, navState{9, 0, 10, ""}},
		{"shorter: the window follows the cursor", func(v *listNav) { v.Select(3); v.SetHeight(2) }, navState{3, 2, 4, "4/10"}},
		{"no height is one row", func(v *listNav) { v.Select(3); v.SetHeight(-4) }, navState{3, 3, 4, "4/10"}},
		{"reload keeps the window around the kept item", func(v *listNav) { v.Select(5); v.Reload(12, 4) }, navState{4, 2, 6, "5/12"}},
		{"reload onto an item above the window", func(v *listNav) { v.Bottom(); v.Reload(12, 1) }, navState{1, 1, 5, "2/12"}},
		{"reload onto a gone item clamps", func(v *listNav) { v.Select(5); v.Reload(3, 7) }, navState{2, 0, 3, ""}},
		{"negative count is empty", func(v *listNav) { v.Clamp(-1) }, navState{0, 0, 0, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v listNav
			v.SetHeight(4)
			v.Clamp(10)
			tt.do(&v)
			if got := stateOf(&v); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestListNavRows: items drawn among headings. Five items on eight rows,
// three shown:
//
//	0 heading   1 item 0   2 item 1   3 item 2
//	4 heading   5 item 3   6 heading  7 item 4
//
// Items 0, 3 and 4 come into view with their heading above them.
func TestListNavRows(t *testing.T) {
	tests := []struct {
		name string
		do   func(v *listNav)
		want navState
	}{
		{"start", func(v *listNav) {}, navState{0, 0, 3, "1/5"}},
		{"down past the window drags it by rows", func(v *listNav) { v.Move(2) }, navState{2, 1, 4, "3/5"}},
		{"bottom shows the last rows", func(v *listNav) { v.Bottom() }, navState{4, 5, 8, "5/5"}},
		{"up to an item under a heading shows the heading", func(v *listNav) { v.Bottom(); v.Move(-1) }, navState{3, 4, 7, "4/5"}},
		{"up to an item under an item does not", func(v *listNav) { v.Bottom(); v.Move(-2) }, navState{2, 3, 6, "3/5"}},
		{"top shows the first heading", func(v *listNav) { v.Bottom(); v.Top() }, navState{0, 0, 3, "1/5"}},
		{"a page is the list's height in items", func(v *listNav) { v.Page(1) }, navState{3, 3, 6, "4/5"}},
		{"scroll a heading to the top", func(v *listNav) { v.Select(3); v.ScrollTo(4) }, navState{3, 4, 7, "4/5"}},
		{"scroll past the end stops at the last rows", func(v *listNav) { v.Select(4); v.ScrollTo(7) }, navState{4, 5, 8, "5/5"}},
		{"scroll never hides the cursor", func(v *listNav) { v.ScrollTo(5) }, navState{0, 0, 3, "1/5"}},
		{"taller than the rows: all shown, no position", func(v *listNav) { v.Bottom(); v.SetHeight(8) }, navState{4, 0, 8, ""}},
		{"items fit but the rows do not: a position", func(v *listNav) { v.SetHeight(5) }, navState{0, 0, 5, "1/5"}},
		{"reload keeps the item", func(v *listNav) { v.Select(3); v.Reload(5, 3) }, navState{3, 3, 6, "4/5"}},
		{"rows gone: one item a row again", func(v *listNav) { v.Bottom(); v.SetRows(nil, nil, 0) }, navState{4, 2, 5, "5/5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v listNav
			v.SetHeight(3)
			v.Clamp(5)
			v.SetRows([]int{1, 2, 3, 5, 7}, []int{0, 2, 3, 4, 6}, 8)
			tt.do(&v)
			if got := stateOf(&v); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestListNavEmpty(t *testing.T) {
	var v listNav // zero value: no items, one row
	for _, op := range []func(){func() { v.Move(1) }, func() { v.Move(-1) }, func() { v.Page(1) }, func() { v.Page(-1) }, v.Top, v.Bottom, v.Reset} {
		op()
		if got, want := stateOf(&v), (navState{}); got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if v.Selected(0) {
			t.Fatalf("Selected(0) on an empty list")
		}
	}
}

func TestListNavKey(t *testing.T) {
	k := newKeyMap(nil).caseList.navKeys
	press := func(code rune, text string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: code, Text: text} }
	tests := []struct {
		name    string
		msg     tea.KeyPressMsg
		handled bool
		cursor  int
	}{
		{"down", tea.KeyPressMsg{Code: tea.KeyDown}, true, 6},
		{"up", tea.KeyPressMsg{Code: tea.KeyUp}, true, 4},
		{"page down", tea.KeyPressMsg{Code: tea.KeyPgDown}, true, 9},
		{"page up", tea.KeyPressMsg{Code: tea.KeyPgUp}, true, 1},
		{"not a navigation key", press('x', "x"), false, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v listNav
			v.SetHeight(4)
			v.Clamp(20)
			v.Select(5)
			if got := v.Key(tt.msg, k); got != tt.handled {
				t.Errorf("handled: got %v, want %v", got, tt.handled)
			}
			if got := v.Cursor(); got != tt.cursor {
				t.Errorf("cursor: got %d, want %d", got, tt.cursor)
			}
		})
	}
}
