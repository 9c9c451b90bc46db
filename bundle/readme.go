package bundle

import (
	"fmt"
	"strings"

	"github.com/fieldcase/fieldcase/trust"
)

// readme writes README.txt: for the court, in plain words, what is in the
// folder, what was checked, and how to check it again.
func (w *writer) readme() error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("COURT BUNDLE: CASE %s\n", w.src.Ref)
	p("Made %s by %s.\n", w.now.Format("2 January 2006 at 15:04 UTC"), w.src.Producer)
	p("Records %s.\n\n", w.rangeText())

	p("WHAT IS IN THIS FOLDER\n\n")
	p("  %-22s the bundle: index, sections A to F, %d pages numbered A1, A2 ... B1 ...\n", PDFName, w.res.Pages)
	if w.res.Recordings > 0 {
		p("  %-22s %d recording(s), as recorded (Ogg Opus audio: VLC and most players open it)\n", RecordingsDir+"/", w.res.Recordings)
	}
	p("  %-22s the signed originals of every entry, and what proves them\n", ManifestName)
	p("  %-22s this file\n\n", ReadmeName)
	if w.res.OverLimit {
		p("The bundle has %d pages, more than the %d that Practice Direction 27A allows\nwithout the court's permission.\n\n", w.res.Pages, w.res.MaxPages)
	}

	p("HOW THE RECORDS ARE PROTECTED\n\n")
	wrap(&b, "Each entry was written on a caseworker's laptop, which signed it with a key that never leaves that laptop. The agency signed statements that say which laptop belongs to which person; its key has the fingerprint below. The case server stores the records but cannot read, change or sign them, and it keeps a public, append-only log of everything it stores, so it cannot quietly drop or rewrite a record either.")
	p("\n  Agency key:             %s\n  Agency key fingerprint: %s\n\n", trust.FormatAgencyKey(w.src.Agency), trust.AgencyFingerprint(w.src.Agency))
	wrap(&b, "Ask the agency to confirm that fingerprint, by telephone or in writing. Everything below is checked against that key: a bundle made under another key proves nothing about this agency.")
	p("\n")

	p("WHAT WAS CHECKED WHEN IT WAS MADE, AND HOW TO CHECK IT AGAIN\n\n")
	wrap(&b, "The program fieldcase-verify checks the bundle from these files alone. It needs no password, no network, no case server and no access to the case. Run it in a terminal, naming this folder:")
	p("\n    fieldcase-verify FOLDER\n\n")
	wrap(&b, "It reports every check it makes, and names exactly which file, record or page fails and why. It checks:")
	p("\n")
	for _, s := range []string{
		"that no file was changed, added or removed since the bundle was made (SHA-256 of each file, listed in manifest.json);",
		"that each record's revision number is the hash of what the revision holds, so the revision cannot have been altered;",
		"that each revision carries a valid signature by the laptop that wrote it;",
		"that the agency's signed statements vouch for that laptop, name its owner, and had not revoked it when it wrote;",
		"that the case server's log holds each revision: an inclusion proof against one checkpoint the server signed (and any supervisor's laptop cosigned), and the server's signed receipt;",
		"that the signed access events form an unbroken chain for each laptop;",
		"that every entry the PDF shows is one of the signed revisions, on the page the manifest names.",
	} {
		p("  - ")
		wrapIndent(&b, s, "    ")
	}
	p("\n")
	p("WHAT THE CHECKS DO NOT SHOW\n\n")
	wrap(&b, "The signed originals are encrypted with the case's key, which only the case's members and the agency's recovery key hold. fieldcase-verify proves who signed each original and that it is unchanged; it cannot itself read the originals, so that the words in the PDF are the originals' words rests on the laptop or agency that made the bundle. The agency can confirm any entry by opening the original with its recovery key.")
	p("\n")
	if w.src.Evidence == nil {
		wrap(&b, "This bundle carries no evidence from the case server's log.")
	} else {
		wrap(&b, fmt.Sprintf("%d of the %d revisions are proved in the server's log (%d with a receipt). A revision written offline and not yet synced has no log evidence yet; its signature still stands.", w.res.Logged, len(w.records)+len(w.deletions), w.res.Receipts))
	}
	p("\nFORMAT\n\n")
	wrap(&b, "The format of manifest.json is published with fieldcase (docs/BUNDLE.md), so that anyone can write their own checker.")
	return w.writeBytes(ReadmeName, []byte(b.String()))
}

// wrap writes s as lines of at most 78 characters.
func wrap(b *strings.Builder, s string) { wrapIndent(b, s, "") }

func wrapIndent(b *strings.Builder, s, indent string) {
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 && n+1+len([]rune(word)) > 78-len(indent) {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len([]rune(word))
	}
	b.WriteByte('\n')
}
