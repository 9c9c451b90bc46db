package cli

import (
	"strings"
	"testing"
)

func TestRoff(t *testing.T) {
	tests := []struct{ in, want string }{
		{"--vault", `\-\-vault`},
		{`C:\path`, `C:\epath`},
		{".hidden", `\&.hidden`},
		{"'quoted'", `\&'quoted'`},
		{"court ≤14 days…", `court \[u2264]14 days\[u2026]`},
	}
	for _, tt := range tests {
		if got := roff(tt.in); got != tt.want {
			t.Errorf("roff(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	lines := wrap(strings.Repeat("word ", 40)+".dot", 30)
	for _, l := range lines {
		if len(l) > 30 {
			t.Errorf("line longer than 30: %q", l)
		}
		if strings.HasPrefix(l, ".") {
			t.Errorf("line starts a request: %q", l)
		}
	}
}
