package pdftext

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

// pdfOf builds a small PDF as the bundle's PDF library lays one out: pages
// whose content is Flate-compressed and whose text is UTF-16BE, and
// /PageLabels.
func pdfOf(pages [][]string, labels string) []byte {
	var b bytes.Buffer
	offsets := map[int]int{}
	obj := func(n int, body string) {
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	b.WriteString("%PDF-1.3\n")
	kids := ""
	n := 3
	for _, runs := range pages {
		var content bytes.Buffer
		content.WriteString("BT /F1 9.00 Tf ET\n")
		for _, r := range runs {
			var s []byte
			for _, u := range utf16.Encode([]rune(r)) {
				s = append(s, byte(u>>8), byte(u))
			}
			s = bytes.ReplaceAll(s, []byte(`\`), []byte(`\\`))
			s = bytes.ReplaceAll(s, []byte(`(`), []byte(`\(`))
			s = bytes.ReplaceAll(s, []byte(`)`), []byte(`\)`))
			s = bytes.ReplaceAll(s, []byte("\r"), []byte(`\r`))
			fmt.Fprintf(&content, "BT 56.69 700.00 Td (%s)Tj ET\n", s)
		}
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		w.Write(content.Bytes())
		w.Close()
		obj(n, fmt.Sprintf("<</Type /Page\n/Parent 1 0 R\n/Contents %d 0 R>>", n+1))
		offsets[n+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n<</Filter /FlateDecode /Length %d>>\nstream\n%s\nendstream\nendobj\n", n+1, z.Len(), z.Bytes())
		kids += fmt.Sprintf("%d 0 R ", n)
		n += 2
	}
	obj(1, fmt.Sprintf("<</Type /Pages\n/Kids [%s]\n/Count %d\n>>", kids, len(pages)))
	obj(2, "<</Type /Catalog\n"+labels+"/Pages 1 0 R\n>>")
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", n)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[i])
	}
	fmt.Fprintf(&b, "trailer\n<<\n/Size %d\n/Root 2 0 R\n>>\nstartxref\n%d\n%%%%EOF\n", n, x)
	return b.Bytes()
}

func TestRead(t *testing.T) {
	pdf := pdfOf([][]string{{"Index", "Page i"}, {"Łucja (mother) said \\ \"hi\"", "Page A1"}, {"Ωμέγα", "Page A2"}},
		"/PageLabels << /Nums [ 0 << /S /r >> 1 << /S /D /P (A) /St 1 >> ] >>\n")
	doc, err := Read(pdf)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(doc.Labels, len(doc.Pages), doc.Pages[1].Runs, doc.Pages[2].Runs)
	want := fmt.Sprint([]string{"i", "A1", "A2"}, 3, []Run{{"Łucja (mother) said \\ \"hi\"", 9}, {"Page A1", 9}}, []Run{{"Ωμέγα", 9}, {"Page A2", 9}})
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// A damaged page's stream is that page's error, not the document's.
	i := bytes.Index(pdf, []byte("stream\n")) + 7
	pdf[i+3] ^= 0xff
	doc, err = Read(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages[0].Err == nil || doc.Pages[1].Err != nil {
		t.Errorf("page errors %v, %v; want the first page's only", doc.Pages[0].Err, doc.Pages[1].Err)
	}
}

// A PDF is untrusted input: reading never panics nor runs away.
func FuzzRead(f *testing.F) {
	f.Add(pdfOf([][]string{{"Page A1", "Revision 00"}}, "/PageLabels << /Nums [ 0 << /S /D /P (A) >> ] >>\n"))
	f.Add([]byte("%PDF-1.3\nstartxref\n9\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Read(b)
	})
}

// A page tree that refers back to itself is refused, not walked forever.
func TestPageTreeCycle(t *testing.T) {
	pdf := pdfOf([][]string{{"Page A1"}}, "")
	pdf = bytes.Replace(pdf, []byte("/Kids [3 0 R ]"), []byte("/Kids [1 0 R ]"), 1)
	if _, err := Read(pdf); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("a cyclic page tree: %v", err)
	}
}
