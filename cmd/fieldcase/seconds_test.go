package main

import (
	"strings"
	"testing"
	"time"

	"github.com/fieldcase/fieldcase/store"
)

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"8", 8 * time.Second, ""},
		{"2.5", 2500 * time.Millisecond, ""},
		{" 90 ", 90 * time.Second, ""},
		{"90s", 90 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"0", 0, "not a positive length of time"},
		{"-3", 0, "not a positive length of time"},
		{"-3s", 0, "not a positive length of time"},
		{"eight", 0, "not a number of seconds or a duration"},
		{"8 s", 0, "not a number of seconds or a duration"},
		{"100000", 0, "more than a day"},
		{"", 0, "not a number of seconds or a duration"},
	}
	for _, tt := range tests {
		got, err := parseSeconds(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseSeconds(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// The real binary takes "--seconds 8" (it said "missing unit"), and still a
// duration; a bad value is a usage error, not a stack trace. No microphone is
// needed: the case does not exist, which is checked after the flags parse.
func TestRecordSecondsFlag(t *testing.T) {
	pass := secret(t)
	path := prepVault(t, pass, func(*store.Vault) {})
	env := []string{"FIELDCASE_VAULT=" + path, "FIELDCASE_PASSPHRASE=" + pass}
	for _, arg := range []string{"8", "1m30s", "2.5"} {
		_, errOut, code := fc(t, env, "", "record", "--case", "NO-SUCH", "--seconds", arg)
		if code != 1 || !strings.Contains(errOut, `no case "NO-SUCH"`) {
			t.Errorf("--seconds %s: exit %d, stderr %q; want the flag accepted", arg, code, errOut)
		}
	}
	_, errOut, code := fc(t, env, "", "record", "--case", "NO-SUCH", "--seconds", "soon")
	if code != 2 || !strings.Contains(errOut, "--seconds") || !strings.Contains(errOut, "not a number of seconds") {
		t.Errorf("--seconds soon: exit %d, stderr %q", code, errOut)
	}
}
