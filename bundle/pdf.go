package bundle

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
)

// The PDF is an e-bundle in the form Practice Direction 27A of the Family
// Procedure Rules asks of family proceedings in England and Wales: an index
// at the front, lettered sections whose pages are numbered within each
// section (A1, A2, … B1, …) both on the page and as the PDF's own page
// labels, a bookmark for each section and entry, searchable text at 12 pt
// with 1.5 line spacing, A4, and a 350-page limit (warned of, not
// enforced: the court may allow more).
//
// Text is set in DejaVu Sans, embedded (the glyphs used), so names with
// accents and in Greek, Cyrillic, Hebrew, Armenian or Georgian show as
// written; see fonts/LICENSE.

//go:embed fonts/DejaVuSans.ttf
var fontRegular []byte

//go:embed fonts/DejaVuSans-Bold.ttf
var fontBold []byte

// Page geometry, in millimetres.
const (
	margin     = 20.0
	bodySize   = 12.0 // points: PD27A's minimum
	bodyLine   = 6.35 // 12 pt × 1.5
	smallSize  = 9.0
	smallLine  = 4.6
	refSize    = 8.0
	refLine    = 4.0
	headSize   = 13.0
	headLine   = 7.5
	keepLines  = 45.0 // an entry starts on a new page with less room than this
	fontFamily = "dejavu"
)

// section is one lettered part of the bundle.
type section struct {
	Letter string
	Title  string
	Empty  string // said when the section has no entries
	items  []*item
}

// item is one entry: an index line, a bookmark, and what it draws.
type item struct {
	title string // index and bookmark
	date  string // index column
	by    string // index column: who wrote it
	draw  func(d *doc)
	page  string // label of the page it starts on
	link  int
}

// ref is one revision the PDF shows: its reference lines say which, and
// where they are drawn is the page the manifest names.
type ref struct {
	entry *Entry
}

// doc is one rendering of the bundle.
type doc struct {
	pdf      *fpdf.Fpdf
	ref      string // the case reference, in headers and footers
	cur, nxt *section
	secPage  int
	labels   []string // the label of each page, in order
	index    bool     // drawing the index: pages numbered i, ii, …
}

func newDoc(caseRef string, now time.Time) *doc {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(true)
	p.SetCreationDate(now)
	p.SetModificationDate(now)
	p.SetMargins(margin, margin+4, margin)
	p.SetAutoPageBreak(true, margin)
	p.AddUTF8FontFromBytes(fontFamily, "", fontRegular)
	p.AddUTF8FontFromBytes(fontFamily, "B", fontBold)
	p.SetTitle(clean("Court bundle: "+caseRef), true)
	p.SetCreator("fieldcase", true)
	p.SetProducer("fieldcase (codeberg.org/go-pdf/fpdf)", true)
	p.SetLang("en-GB")
	d := &doc{pdf: p, ref: caseRef}
	p.SetHeaderFuncMode(d.header, true)
	p.SetFooterFunc(d.footer)
	return d
}

// label is the current page's label.
func (d *doc) label() string {
	if len(d.labels) == 0 {
		return ""
	}
	return d.labels[len(d.labels)-1]
}

func (d *doc) header() {
	if d.nxt != nil {
		d.cur, d.nxt, d.secPage = d.nxt, nil, 0
	}
	d.secPage++
	title := "Index"
	if d.index {
		d.labels = append(d.labels, roman(d.secPage))
	} else {
		d.labels = append(d.labels, d.cur.Letter+strconv.Itoa(d.secPage))
		title = d.cur.Letter + ". " + d.cur.Title
	}
	p := d.pdf
	p.SetY(10)
	p.SetFont(fontFamily, "", smallSize)
	p.SetTextColor(90, 90, 90)
	p.CellFormat(85, smallLine, clean("Court bundle: "+d.ref), "", 0, "L", false, 0, "")
	p.CellFormat(0, smallLine, clean(title), "", 0, "R", false, 0, "")
	p.SetTextColor(0, 0, 0)
}

func (d *doc) footer() {
	p := d.pdf
	p.SetY(-14)
	p.SetFont(fontFamily, "", smallSize)
	p.SetTextColor(90, 90, 90)
	p.CellFormat(120, smallLine, clean("Case "+d.ref), "", 0, "L", false, 0, "")
	// The page's label, alone in its own text run: the verifier reads it.
	p.CellFormat(0, smallLine, "Page "+d.label(), "", 0, "R", false, 0, "")
	p.SetTextColor(0, 0, 0)
}

// startSection begins a section on a new page.
func (d *doc) startSection(s *section) {
	d.nxt = s
	d.pdf.AddPage()
	d.pdf.Bookmark(clean(s.Letter+". "+s.Title), 0, -1)
	d.pdf.SetFont(fontFamily, "B", 16)
	d.pdf.MultiCell(0, 9, clean(s.Letter+". "+s.Title), "", "L", false)
	d.pdf.Ln(3)
	if len(s.items) == 0 {
		d.text(s.Empty)
	}
}

// startItem begins an entry: on a new page when little room is left, with
// its bookmark and the target of its index link.
func (d *doc) startItem(it *item) {
	_, h := d.pdf.GetPageSize()
	if d.pdf.GetY() > h-margin-keepLines {
		d.pdf.AddPage()
	}
	it.page = d.label()
	if it.link > 0 {
		d.pdf.SetLink(it.link, -1, -1)
	}
	d.pdf.Bookmark(clean(it.title), 1, -1)
	d.pdf.SetFont(fontFamily, "B", headSize)
	d.pdf.MultiCell(0, headLine, clean(it.title), "", "L", false)
}

// meta writes a line about an entry (who wrote it, when) in small type.
func (d *doc) meta(s string) {
	d.pdf.SetFont(fontFamily, "", smallSize+1)
	d.pdf.SetTextColor(60, 60, 60)
	d.pdf.MultiCell(0, smallLine+0.6, clean(s), "", "L", false)
	d.pdf.SetTextColor(0, 0, 0)
}

// refLines names a revision: its record and its full id, each line one
// text run so that the verifier can find it.
func (d *doc) refLines(r *ref) {
	r.entry.Page = d.label()
	d.pdf.SetFont(fontFamily, "", refSize)
	d.pdf.SetTextColor(90, 90, 90)
	d.pdf.CellFormat(0, refLine, clean("Record "+r.entry.Record+" ("+string(r.entry.Kind)+"), device "+r.entry.Device), "", 1, "L", false, 0, "")
	d.pdf.CellFormat(0, refLine, "Revision "+r.entry.Rev, "", 1, "L", false, 0, "")
	d.pdf.SetTextColor(0, 0, 0)
}

// text writes body text.
func (d *doc) text(s string) {
	d.pdf.SetFont(fontFamily, "", bodySize)
	d.pdf.MultiCell(0, bodyLine, clean(s), "", "L", false)
}

// field writes "label: value" in body type, when value is set.
func (d *doc) field(label, value string) {
	if strings.TrimSpace(value) == "" {
		return
	}
	d.pdf.SetFont(fontFamily, "B", bodySize)
	w := d.pdf.GetStringWidth(label+": ") + 1
	d.pdf.CellFormat(w, bodyLine, clean(label+": "), "", 0, "L", false, 0, "")
	d.pdf.SetFont(fontFamily, "", bodySize)
	d.pdf.MultiCell(0, bodyLine, clean(value), "", "L", false)
}

func (d *doc) gap() { d.pdf.Ln(4) }

// render draws the bundle: the front index (when idx is set, with the page
// labels a first rendering found) and every section.
func (d *doc) render(front func(d *doc), sections []*section) {
	if front != nil {
		d.index = true
		d.pdf.AddPage()
		d.pdf.Bookmark("Index", 0, -1)
		front(d)
		d.index = false
	}
	for _, s := range sections {
		d.startSection(s)
		for _, it := range s.items {
			d.startItem(it)
			it.draw(d)
			d.gap()
		}
	}
}

// indexPage draws the front sheet and the index.
func indexPage(title []string, sections []*section) func(d *doc) {
	return func(d *doc) {
		p := d.pdf
		p.SetFont(fontFamily, "B", 18)
		p.MultiCell(0, 10, "Court bundle", "", "L", false)
		for i, l := range title {
			if i == 0 {
				p.SetFont(fontFamily, "B", 14)
			} else {
				p.SetFont(fontFamily, "", 11)
			}
			p.MultiCell(0, 6.5, clean(l), "", "L", false)
		}
		p.Ln(4)
		p.SetFont(fontFamily, "B", 14)
		p.CellFormat(0, 8, "Index", "", 1, "L", false, 0, "")
		for _, s := range sections {
			p.SetFont(fontFamily, "B", 11)
			p.Ln(1.5)
			first := s.Letter + "1"
			p.CellFormat(22, 6.5, first, "", 0, "L", false, 0, "")
			p.MultiCell(0, 6.5, clean(s.Letter+". "+s.Title), "", "L", false)
			p.SetFont(fontFamily, "", 10)
			for _, it := range s.items {
				it.link = p.AddLink()
				p.CellFormat(22, 5.5, it.page, "", 0, "L", false, it.link, "")
				label := it.title
				if it.by != "" {
					label += " — " + it.by
				}
				p.CellFormat(0, 5.5, clean(fit(p, label, 148)), "", 1, "L", false, it.link, "")
			}
		}
	}
}

// fit shortens s with an ellipsis to fit w millimetres in the current font.
func fit(p *fpdf.Fpdf, s string, w float64) string {
	s = clean(s)
	if p.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && p.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// clean makes user text safe to set: valid UTF-8, within the Basic
// Multilingual Plane (the PDF library writes text as UTF-16 code units and
// mishandles surrogate pairs), tabs as spaces, no other control
// characters.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune('\uFFFD')
		case r == '\n':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString("    ")
		case r > 0xFFFF:
			b.WriteRune('\uFFFD')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= 0xD800 && r <= 0xDFFF):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// roman is n in lower-case roman numerals (index pages).
func roman(n int) string {
	if n <= 0 || n >= 4000 {
		return strconv.Itoa(n)
	}
	vals := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"m", "cm", "d", "cd", "c", "xc", "l", "xl", "x", "ix", "v", "iv", "i"}
	var b strings.Builder
	for i, v := range vals {
		for n >= v {
			b.WriteString(syms[i])
			n -= v
		}
	}
	return b.String()
}

// pageLabelsEntry is the /PageLabels number tree of a bundle whose pages
// are labelled labels: a range for the index (roman), then one per section
// (its letter as prefix, decimal from 1).
func pageLabelsEntry(labels []string) string {
	var b strings.Builder
	b.WriteString("/PageLabels << /Nums [")
	prev := "\x00"
	for i, l := range labels {
		prefix := sectionOf(l)
		if prefix == prev {
			continue
		}
		prev = prefix
		if prefix == "" {
			fmt.Fprintf(&b, " %d << /S /r >>", i)
		} else {
			fmt.Fprintf(&b, " %d << /S /D /P (%s) /St 1 >>", i, prefix)
		}
	}
	b.WriteString(" ] >>\n")
	return b.String()
}

var labelRE = regexp.MustCompile(`^([A-Z])([1-9][0-9]*)$`)

// sectionOf is a page label's section letter, "" for an index page.
func sectionOf(label string) string {
	if m := labelRE.FindStringSubmatch(label); m != nil {
		return m[1]
	}
	return ""
}

// addPageLabels puts /PageLabels into the catalog of a PDF the library
// wrote. The catalog is the last object, right before the cross-reference
// table, so inserting into it moves nothing but startxref.
func addPageLabels(pdf []byte, labels []string) ([]byte, error) {
	const catalog = "/Type /Catalog\n"
	i := bytes.LastIndex(pdf, []byte(catalog))
	x := bytes.LastIndex(pdf, []byte("\nxref\n"))
	s := bytes.LastIndex(pdf, []byte("\nstartxref\n"))
	if i < 0 || x < i || s < x {
		return nil, fmt.Errorf("writing page labels: the PDF library's output changed shape")
	}
	entry := pageLabelsEntry(labels)
	at := i + len(catalog)
	out := make([]byte, 0, len(pdf)+len(entry))
	out = append(out, pdf[:at]...)
	out = append(out, entry...)
	out = append(out, pdf[at:s]...)
	out = append(out, "\nstartxref\n"...)
	out = append(out, strconv.Itoa(x+1+len(entry))...)
	out = append(out, "\n%%EOF\n"...)
	return out, nil
}
