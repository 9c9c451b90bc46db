package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// TestGoldenWelsh walks the main screens of the demo vault (seed 1, pinned
// clock) in Welsh at 80×24 (unlock, case list, case detail, note editor,
// agenda, consent overview), as TestGolden does in English, and compares
// each with testdata/TestGoldenWelsh/80x24/<screen>.golden (-update
// rewrites). goldenCheck also checks that every screen fits: Welsh is
// longer than English, and nothing may wrap into the status or key lines.
func TestGoldenWelsh(t *testing.T) {
	cy, err := i18n.New("cy")
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 80, 24
	t.Run("80x24", func(t *testing.T) {
		v := openVault(t, demoVaultFile(t))
		opts := testOptions(t, v)
		opts.Locale = cy
		p := start(t, opts, w, h)
		check := goldenCheck(t, w, h)

		check("unlock", p.waitText("Cyfrinymadrodd", "Cyfrinymadrodd arddangos"))
		p.typeText(testPass)
		p.key(keyEnter)
		p.waitText("200 achos · trefn: dyledus nesaf")
		check("caselist", p.waitFor("notes decrypted", func(s string) bool {
			return strings.Contains(s, " nodyn") && !strings.Contains(s, "dadgryptio")
		}))

		p.key(keyEnter)
		check("casedetail", p.waitText("Pobl", "Cydsyniad", "Tasgau ac ymweliadau"))
		p.key(runeKey('n'))
		check("noteedit", p.waitText("Nodyn newydd · DEMO-"))
		p.key(keyEsc)
		p.waitText("Pobl")
		p.key(keyEsc)
		p.waitText("200 achos · trefn")

		p.key(runeKey('a'))
		check("agenda", p.waitText("Achosion › Agenda", "Hwyr · ", "yr wythnos hon", "1/"))
		p.key(keyTab)
		p.key(keyTab)
		check("agenda-week", p.waitFor("the week's first item selected", func(s string) bool {
			return strings.Contains(s, "Yr wythnos hon · ") && strings.Contains(s, "▸ Maw 3 Tach")
		}))
		p.key(keyEsc)
		p.waitText("200 achos · trefn")

		p.key(runeKey('C'))
		check("consents", p.waitText("Problemau cydsyniad · trefn: achos", "mewn", "CWMPAS"))
		p.key(keyEsc)
		p.waitText("200 achos · trefn")
		p.quit()
	})
}

// TestFormDraftAcrossLanguages: a form's draft keeps its fields by the
// English labels drafts have always used, so a task half typed in English
// comes back into its fields when the vault is next opened in Welsh.
func TestFormDraftAcrossLanguages(t *testing.T) {
	cy, err := i18n.New("cy")
	if err != nil {
		t.Fatal(err)
	}
	path := demoVaultFile(t)
	v := openVault(t, path)
	opts := testOptions(t, v)
	opts.DraftDelay = time.Hour // only the quit saves it
	p := start(t, opts, 100, 30)
	p.unlock()
	p.openCaseByFilter("0005", "DEMO-0005")
	p.key(runeKey('t'))
	p.waitText("Tasks & visits · DEMO-0005")
	p.key(runeKey('a'))
	p.waitText("New task or visit")
	p.typeText("Ffonio'r ysgol, marker-cy-5")
	p.waitText("marker-cy-5")
	p.key(keyCtrlC)
	p.final()
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	v2 := openVault(t, path)
	opts2 := testOptions(t, v2)
	opts2.Locale = cy
	p2 := start(t, opts2, 100, 30)
	p2.waitText("Cyfrinymadrodd")
	p2.typeText(testPass)
	p2.key(keyEnter)
	p2.waitText("Gwaith nad oeddech wedi'i gadw", "DEMO-0005", "tasg neu ymweliad newydd", "marker-cy-5")
	p2.key(runeKey('r'))
	p2.waitText("Tasg neu ymweliad newydd", "yn ôl (mae esc yn eu taflu)", "Ffonio'r ysgol, marker-cy-5")
	p2.key(keyCtrlS)
	p2.waitText("Ychwanegwyd: Ffonio'r ysgol, marker-cy-5")
	p2.quit()
	if ds, err := v2.Drafts(); err != nil || len(ds) != 0 {
		t.Errorf("Drafts() = %+v, %v; want none once the task is added", ds, err)
	}
}
