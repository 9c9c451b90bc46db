package cli

import (
	"testing"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// kong's parse errors in Welsh, from their parts; English is kong's own
// text, and an error the table does not know stays as kong wrote it.
func TestParseErrorInWelsh(t *testing.T) {
	cy, err := i18n.New("cy")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ kong, want string }{
		{`unknown flag --colour`, `baner anhysbys --colour`},
		{`unknown flag --jsn, did you mean "--json"?`, `baner anhysbys --jsn; oeddech chi'n golygu "--json"?`},
		{`unexpected argument lsit, did you mean one of "list", "last"?`, `dadl annisgwyl lsit; oeddech chi'n golygu un o "list", "last"?`},
		{`missing flags: --case=STRING`, `baneri ar goll: --case=STRING`},
		{`missing positional arguments <ref>`, `dadleuon ar goll: <ref>`},
		{`expected "<ref>"`, `disgwylid "<ref>"`},
		{`expected one of "show",  "set"`, `disgwylid un o "show",  "set"`},
		{`--kind: --kind must be one of "visit","task" but got "walk"`, `--kind: rhaid i --kind fod yn un o "visit","task", ond cafwyd "walk"`},
		{`--a and --b can't be used together`, `ni ellir defnyddio --a a --b gyda'i gilydd`},
		{`--case: expected string value but got "EOL" (<EOL>)`, `--case: disgwylid gwerth string, ond cafwyd "EOL" (<EOL>)`},
		{`something kong says rarely`, `something kong says rarely`},
	}
	for _, tt := range tests {
		if got := parseError(cy, tt.kong); got != tt.want {
			t.Errorf("parseError(cy, %q) = %q, want %q", tt.kong, got, tt.want)
		}
		if got := parseError(i18n.English(), tt.kong); got != tt.kong {
			t.Errorf("parseError(en, %q) = %q, want it unchanged", tt.kong, got)
		}
	}
}
