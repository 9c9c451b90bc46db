package cli

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// Stamp is what a binary knows of its build.
type Stamp struct{ Version, Commit, Date string }

// Line is what --version prints: "fieldcase 0.9.0 (commit 59c2ea9, built
// 2026-12-07)".
func (s Stamp) Line(name string) string {
	return fmt.Sprintf("%s %s (commit %s, built %s)", name, s.Version, s.Commit, s.Date)
}

// BuildStamp completes version, commit and date as set by -ldflags (the
// Makefile sets them): what is empty is taken from the build information
// Go records (the module version, vcs.revision and vcs.time), else
// "dev"/"unknown".
func BuildStamp(version, commit, date string) Stamp {
	return buildStamp(version, commit, date, debug.ReadBuildInfo)
}

func buildStamp(version, commit, date string, read func() (*debug.BuildInfo, bool)) Stamp {
	if info, ok := read(); ok {
		if version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = strings.TrimPrefix(info.Main.Version, "v")
		}
		var rev, when string
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if commit == "" && rev != "" {
			commit = rev[:min(7, len(rev))]
			if dirty {
				commit += "-dirty"
			}
		}
		if date == "" && when != "" {
			if t, err := time.Parse(time.RFC3339, when); err == nil {
				date = t.UTC().Format("2006-01-02")
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return Stamp{version, commit, date}
}
