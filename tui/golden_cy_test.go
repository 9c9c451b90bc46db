package tui

import (
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// TestGoldenWelsh walks the main screens of the demo vault (seed 1, pinned
// clock) in Welsh at 80×24, as TestGolden does in English, and compares
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
		p.quit()
	})
}
