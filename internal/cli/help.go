package cli

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/fieldcase/fieldcase/internal/i18n"
)

// Help texts in other languages. kong reads a command's help from struct
// tags and Help methods, in English: the English text stays there (it is
// the reference, like a gettext msgid), and TranslateHelp puts the
// locale's own text in its place from the catalogue, under these keys:
//
//	help.app                        the program's description
//	help.cmd.<words>                a command ("help.cmd.task.add")
//	help.detail.<words>             a command's long help (its Help method)
//	help.flag.<words>.<flag>        a command's flag; the program's own flags have no words
//	help.arg.<words>.<argument>     a command's positional argument
//	help.group.<key>                a flag group's title
//
// A text the locale's catalogue lacks stays English; the catalogue test of
// each binary lists which commands must be complete.

// HelpKeys calls fn with the catalogue key of every help text in the
// model and a pointer to the text, hidden commands included.
func HelpKeys(app *kong.Application, fn func(key string, text *string)) {
	fn("help.app", &app.Help)
	var walk func(n *kong.Node, words []string)
	walk = func(n *kong.Node, words []string) {
		prefix := strings.Join(words, ".")
		if len(words) > 0 {
			fn("help.cmd."+prefix, &n.Help)
			if n.Detail != "" {
				fn("help.detail."+prefix, &n.Detail)
			}
			prefix += "."
		}
		for _, f := range n.Flags {
			fn("help.flag."+prefix+f.Name, &f.Help)
			if f.Group != nil {
				fn("help.group."+f.Group.Key, &f.Group.Title)
			}
		}
		for _, p := range n.Positional {
			fn("help.arg."+prefix+p.Name, &p.Help)
		}
		for _, c := range n.Children {
			walk(c, append(words[:len(words):len(words)], c.Name))
		}
	}
	walk(app.Node, nil)
}

// TranslateHelp is a kong option that puts l's help texts in place of the
// English ones. vars are the variables kong interpolates into help
// (${name}), which the translations use too. English is left untouched.
func TranslateHelp(l *i18n.Locale, vars kong.Vars) kong.Option {
	return kong.PostBuild(func(k *kong.Kong) error {
		if l == nil || l.Tag() == i18n.Default {
			return nil
		}
		HelpKeys(k.Model, func(key string, text *string) {
			if l.Has(key) {
				*text = interpolate(l.T(key), vars) // i18n: help.* keys come from the model (HelpKeys)
			}
		})
		return nil
	})
}

var varRef = regexp.MustCompile(`\$\{(\w+)\}`)

func interpolate(s string, vars kong.Vars) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := vars[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

// The headings kong's help printer writes in English.
var (
	moreOnCommand = regexp.MustCompile(`^Run "(.+) --help" for more information on a command\.$`)
	moreOn        = regexp.MustCompile(`^Run "(.+) --help" for more information\.$`)
)

// HelpPrinter wraps a kong help printer so that its own headings (Usage:,
// Flags:, Commands:, Arguments:, "Run … --help for more information") are
// in l's language. English is printed as kong prints it.
func HelpPrinter(l *i18n.Locale, next kong.HelpPrinter) kong.HelpPrinter {
	return func(opts kong.HelpOptions, ctx *kong.Context) error {
		if l == nil || l.Tag() == i18n.Default {
			return next(opts, ctx)
		}
		out := ctx.Stdout
		var buf bytes.Buffer
		ctx.Stdout = &buf
		err := next(opts, ctx)
		ctx.Stdout = out
		lines := strings.SplitAfter(buf.String(), "\n")
		for i, line := range lines {
			text, nl := strings.CutSuffix(line, "\n")
			switch {
			case strings.HasPrefix(text, "Usage: "):
				text = l.T("cli.help.usage") + strings.TrimPrefix(text, "Usage:")
			case text == "Arguments:":
				text = l.T("cli.help.arguments")
			case text == "Flags:":
				text = l.T("cli.help.flags")
			case text == "Commands:":
				text = l.T("cli.help.commands")
			default:
				if m := moreOnCommand.FindStringSubmatch(text); m != nil {
					text = l.T("cli.help.more", "Command", m[1])
				} else if m := moreOn.FindStringSubmatch(text); m != nil {
					text = l.T("cli.help.more_one", "Command", m[1])
				}
			}
			if nl {
				text += "\n"
			}
			lines[i] = text
		}
		if _, werr := out.Write([]byte(strings.Join(lines, ""))); err == nil {
			err = werr
		}
		return err
	}
}
