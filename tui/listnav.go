package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// listNav is the cursor and scrolling of a list screen: which item is
// selected, which is the first one drawn, and how many rows the list has.
// Screens keep their items and draw them; listNav keeps the selection inside
// the items and the window around the selection, so every list pages,
// clamps and scrolls the same way. Its zero value is an empty list one row
// high.
//
// The window moves only as far as it must: a cursor moving up past the top
// row or down past the bottom row drags it along; otherwise it stays put.
//
// Items are drawn one a row unless SetRows says they are drawn among other
// rows (a section's heading): the window is then over the rows.
type listNav struct {
	cursor int // index of the selected item
	offset int // the first visible row
	height int // rows the list shows; at least 1
	n      int // number of items

	// Set by SetRows (nil: item i is row i). rowOf[i] is item i's row;
	// tops[i] is the first row shown with it when the window moves up to
	// it; total is the number of rows.
	rowOf, tops []int
	total       int
}

// SetRows says the items are drawn among other rows: item i on row
// rows[i], which brings row tops[i] (its heading; rows[i] when it has
// none) into view with it when the window moves up to it; total is the
// number of rows. Visible is then a range of rows; the items counted by
// Clamp and Reload are still the items, len(rows). Nil rows: one row an
// item.
func (v *listNav) SetRows(rows, tops []int, total int) {
	v.rowOf, v.tops, v.total = rows, tops, total
	v.clamp()
}

// ScrollTo puts row r at the top of the window, as far as the rows allow
// and the cursor stays in view.
func (v *listNav) ScrollTo(r int) {
	v.offset = r
	v.clamp()
}

// SetHeight sets how many rows the list shows (at least 1) and keeps the
// cursor visible.
func (v *listNav) SetHeight(h int) {
	v.height = max(1, h)
	v.clamp()
}

// Clamp records that the list now holds n items, after they changed, and
// keeps the cursor on an item and visible; on an empty list the cursor is 0.
func (v *listNav) Clamp(n int) {
	v.n = max(0, n)
	v.clamp()
}

// Reload records that the items changed to n and puts the cursor on item i
// (clamped), keeping the window where it was if i is still in it: what a
// screen does after a reload or a refilter that keeps the selected item.
func (v *listNav) Reload(n, i int) {
	v.n, v.cursor = max(0, n), i
	v.clamp()
}

// Move moves the cursor by d items, stopping at the ends.
func (v *listNav) Move(d int) {
	v.cursor += d
	v.clamp()
}

// Page moves the cursor by d pages (a page is the list's height).
func (v *listNav) Page(d int) { v.Move(d * v.rows()) }

// Top selects the first item.
func (v *listNav) Top() { v.Select(0) }

// Bottom selects the last item.
func (v *listNav) Bottom() { v.Select(v.n - 1) }

// Select puts the cursor on item i (clamped to the items) and scrolls to it.
func (v *listNav) Select(i int) {
	v.cursor = i
	v.clamp()
}

// Reset puts the cursor on the first item and the window at the top.
func (v *listNav) Reset() {
	v.cursor, v.offset = 0, 0
	v.clamp()
}

// Cursor is the index of the selected item; it is 0 on an empty list, so
// check Len before indexing.
func (v *listNav) Cursor() int { return v.cursor }

// Len is the number of items given to the last Clamp.
func (v *listNav) Len() int { return v.n }

// Selected reports whether item i is the one under the cursor.
func (v *listNav) Selected(i int) bool { return v.n > 0 && i == v.cursor }

// Visible is the range of items to draw, items[start:end]; with SetRows,
// the range of rows.
func (v *listNav) Visible() (start, end int) {
	return v.offset, min(v.offset+v.rows(), v.totalRows())
}

// Position is "3/40" (the selected item of all) when the items do not fit
// the list's rows, else "": the list legends show it.
func (v *listNav) Position() string {
	if v.totalRows() <= v.rows() {
		return ""
	}
	return itoa(v.cursor+1) + "/" + itoa(v.n)
}

// Key moves the cursor for the navigation keys of k (up, down, page up,
// page down, top, bottom) and reports whether msg was one of them.
func (v *listNav) Key(msg tea.KeyPressMsg, k navKeys) bool {
	switch {
	case key.Matches(msg, k.Up):
		v.Move(-1)
	case key.Matches(msg, k.Down):
		v.Move(1)
	case key.Matches(msg, k.PageUp):
		v.Page(-1)
	case key.Matches(msg, k.PageDown):
		v.Page(1)
	case key.Matches(msg, k.Top):
		v.Top()
	case key.Matches(msg, k.Bottom):
		v.Bottom()
	default:
		return false
	}
	return true
}

func (v *listNav) rows() int { return max(1, v.height) }

// totalRows is the number of rows the list draws.
func (v *listNav) totalRows() int {
	if v.rowOf != nil {
		return v.total
	}
	return v.n
}

// span is the rows of the item under the cursor: the first one shown with
// it when scrolling up (top), and its own (row).
func (v *listNav) span() (top, row int) {
	if v.rowOf == nil || v.cursor >= len(v.rowOf) {
		return v.cursor, v.cursor
	}
	row = v.rowOf[v.cursor]
	top = row
	if v.cursor < len(v.tops) {
		top = min(v.tops[v.cursor], row)
	}
	return top, row
}

func (v *listNav) clamp() {
	v.cursor = min(max(v.cursor, 0), max(v.n-1, 0))
	h := v.rows()
	top, row := v.span()
	if top < v.offset {
		v.offset = top
	}
	if row >= v.offset+h {
		v.offset = row - h + 1
	}
	v.offset = max(0, min(v.offset, max(v.totalRows()-h, 0)))
}

// listRow draws one row of a list w cells wide: the selected row marked
// "▸ " in the Selected style (its own colours stripped, so the selection
// reads the same everywhere), any other indented two cells as it is.
func listRow(st *styles, line string, sel bool, w int) string {
	if sel {
		return st.Selected.Render(fitLine("▸ "+ansiStrip(line), w))
	}
	return fitLine("  "+line, w)
}
