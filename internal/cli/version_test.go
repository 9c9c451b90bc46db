package cli

import (
	"runtime/debug"
	"testing"
)

func TestBuildStamp(t *testing.T) {
	vcs := func(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: version}, Settings: settings}, true
		}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "59c2ea9d0c4e3c1f5b2b8c1d2e3f4a5b6c7d8e9f"}
	at := debug.BuildSetting{Key: "vcs.time", Value: "2026-12-07T03:37:00Z"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	tests := []struct {
		name                  string
		version, commit, date string
		read                  func() (*debug.BuildInfo, bool)
		want                  string
	}{
		{"ldflags", "0.9.0", "59c2ea9", "2026-12-07", vcs("(devel)"), "fieldcase 0.9.0 (commit 59c2ea9, built 2026-12-07)"},
		{"vcs fallback", "", "", "", vcs("(devel)", rev, at), "fieldcase dev (commit 59c2ea9, built 2026-12-07)"},
		{"dirty tree", "0.9.0", "", "", vcs("(devel)", rev, at, dirty), "fieldcase 0.9.0 (commit 59c2ea9-dirty, built 2026-12-07)"},
		{"go install", "", "", "", vcs("v0.9.1"), "fieldcase 0.9.1 (commit unknown, built unknown)"},
		{"nothing known", "", "", "", func() (*debug.BuildInfo, bool) { return nil, false }, "fieldcase dev (commit unknown, built unknown)"},
	}
	for _, tt := range tests {
		if got := buildStamp(tt.version, tt.commit, tt.date, tt.read).Line("fieldcase"); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
