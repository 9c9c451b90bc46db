package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type grammar struct {
	Fail failCmd   `cmd:"" help:"Fails."`
	Quit quitCmd   `cmd:"" help:"Exits 3 quietly."`
	Boom boomCmd   `cmd:"" help:"Panics."`
	Stop cancelCmd `cmd:"" help:"Cancelled by the user."`
}

var errKnown = errors.New("known failure")

type failCmd struct {
	Hinted bool
}

func (c *failCmd) Run() error {
	if c.Hinted {
		return WithHint(errors.New("it broke"), "try again")
	}
	return errKnown
}

type quitCmd struct{}

func (quitCmd) Run() error { return ExitCode(3) }

type cancelCmd struct{}

func (cancelCmd) Run() error { return fmt.Errorf("reading passphrase: %w", ErrCancelled) }

type boomCmd struct{}

func (boomCmd) Run() error { panic("bad") }

func TestRun(t *testing.T) {
	p := Program{Name: "demo", Hint: func(err error) string {
		if errors.Is(err, errKnown) {
			return "a known hint"
		}
		return ""
	}}
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"fail"}, 1, "demo: known failure\nhint: a known hint\n"},
		{[]string{"fail", "--hinted"}, 1, "demo: it broke\nhint: try again\n"},
		{[]string{"quit"}, 3, ""},
		{[]string{"nope"}, 2, "demo: unexpected argument nope\nhint: run 'demo --help' for usage\n"},
		{[]string{"qiut"}, 2, "demo: unexpected argument qiut, did you mean \"quit\"?\nhint: run 'demo --help' for usage\n"},
		{[]string{"boom"}, 70, "demo: internal error: bad\n"},
		{[]string{"stop"}, 130, "demo: cancelled\n"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		var g grammar
		if code := p.Run(&g, tt.args, &out, &errOut); code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.code)
		}
		if !strings.HasPrefix(errOut.String(), tt.stderr) || strings.Contains(errOut.String(), "goroutine") {
			t.Errorf("%v: stderr %q, want %q", tt.args, errOut.String(), tt.stderr)
		}
	}
}

func TestSuggest(t *testing.T) {
	p := Program{Name: "demo"}
	k, err := p.Parser(&grammar{}, nil, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ msg, want string }{
		{"unexpected argument qiut", "quit"},
		{"unexpected argument fial", "fail"},
		{"unexpected argument zzzzzz", ""},
		{"unexpected argument qiut, did you mean \"quit\"?", ""}, // kong said it already
		{"unknown flag --x", ""},
	}
	for _, tt := range tests {
		if got := suggest(k.Model.Node, errors.New(tt.msg)); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
