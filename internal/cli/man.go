package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/alecthomas/kong"
)

// ManInfo is what a man page needs beyond the kong model: the version and
// date for its header, and sections the model does not hold (ENVIRONMENT,
// FILES, EXIT STATUS, SEE ALSO). A binary binds it for ManCmd.
type ManInfo struct {
	Version  string // e.g. 0.9.0
	Date     string // YYYY-MM-DD
	Sections []ManSection
}

// ManSection is one extra section: a title and paragraphs; a paragraph
// whose lines start with two spaces is shown as it is (no filling).
type ManSection struct {
	Title string
	Text  []string
}

// ManCmd writes the program's man page, generated from the kong model, so
// it cannot drift from --help. 'make man' runs it.
type ManCmd struct {
	Out string `short:"o" type:"path" placeholder:"FILE" help:"Write the page to FILE instead of standard output."`
}

func (c *ManCmd) Run(kctx *kong.Context, info ManInfo) error {
	w := kctx.Stdout
	if c.Out != "" {
		f, err := os.Create(c.Out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return WriteMan(w, kctx.Model, info)
}

// WriteMan writes app's manual page in man(7) macros: the program's flags,
// then every visible command with its arguments, flags and examples.
func WriteMan(w io.Writer, app *kong.Application, info ManInfo) error {
	var b strings.Builder
	name := app.Name
	if info.Date == "" || info.Date == "unknown" {
		info.Date = time.Now().UTC().Format("2006-01-02")
	}
	fmt.Fprintf(&b, ".TH %s 1 %s %s \"User Commands\"\n", strings.ToUpper(name), info.Date, quoteArg(name+" "+info.Version))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", name, strings.Join(wrap(strings.TrimSuffix(firstSentence(app.Help), "."), 70-len(name)), "\n"))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n[\\fIflags\\fR] \\fIcommand\\fR [\\fIargs\\fR]\n", name)
	b.WriteString(".SH DESCRIPTION\n")
	paragraphs(&b, app.Help)
	if app.Detail != "" {
		paragraphs(&b, app.Detail)
	}
	b.WriteString(".SH OPTIONS\n")
	flags(&b, app.Flags)
	if def := app.DefaultCmd; def != nil && len(def.Flags) > 0 {
		title := "Without a command"
		if g := def.Flags[0].Group; g != nil && g.Title != "" {
			title = strings.TrimSuffix(g.Title, ":")
		}
		fmt.Fprintf(&b, ".SS %s\n", quoteArg(title))
		flags(&b, def.Flags)
	}
	b.WriteString(".SH COMMANDS\n")
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, c := range n.Children {
			if c.Hidden {
				continue
			}
			if len(c.Children) > 0 && len(c.Flags) == 0 && len(c.Positional) == 0 && c.Detail == "" && c.DefaultCmd == nil {
				walk(c) // a group of commands: its leaves are described
				continue
			}
			command(&b, c)
			walk(c)
		}
	}
	walk(app.Node)
	for _, s := range info.Sections {
		fmt.Fprintf(&b, ".SH %s\n", quoteArg(strings.ToUpper(s.Title)))
		for _, p := range s.Text {
			paragraphs(&b, p)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func command(b *strings.Builder, n *kong.Node) {
	fmt.Fprintf(b, ".SS %s\n", quoteArg(n.FullPath()+" "+strings.TrimSpace(usage(n))))
	paragraphs(b, n.Help)
	if n.Detail != "" {
		paragraphs(b, n.Detail)
	}
	for _, p := range n.Positional {
		fmt.Fprintf(b, ".TP\n\\fI%s\\fR\n%s\n", roff(p.Name), strings.Join(wrap(p.Help, 78), "\n"))
	}
	flags(b, n.Flags)
}

// usage is a command's arguments, as kong's help writes them.
func usage(n *kong.Node) string {
	var parts []string
	for _, p := range n.Positional {
		s := "<" + p.Name + ">"
		if p.IsCumulative() {
			s += " ..."
		}
		if !p.Required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	if len(n.Flags) > 0 {
		parts = append(parts, "[flags]")
	}
	return strings.Join(parts, " ")
}

func flags(b *strings.Builder, fs []*kong.Flag) {
	for _, f := range fs {
		if f.Hidden {
			continue
		}
		b.WriteString(".TP\n")
		if f.Short != 0 {
			fmt.Fprintf(b, "\\fB\\-%c\\fR, ", f.Short)
		}
		fmt.Fprintf(b, "\\fB\\-\\-%s\\fR", roff(f.Name))
		if !f.Value.IsBool() {
			fmt.Fprintf(b, "=\\fI%s\\fR", roff(f.FormatPlaceHolder()))
		}
		b.WriteString("\n")
		help := f.Help
		if len(f.Envs) > 0 {
			help = strings.TrimSuffix(help, ".") + " (environment: " + strings.Join(f.Envs, ", ") + ")."
		}
		if f.Required {
			help += " Required."
		}
		b.WriteString(strings.Join(wrap(help, 78), "\n") + "\n")
	}
}

// paragraphs writes text: blank lines separate paragraphs; indented lines
// (examples) are kept as they are; other lines are filled (and written
// wrapped, so no source line is long).
func paragraphs(b *strings.Builder, text string) {
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if !afterHeading(b) {
			b.WriteString(".PP\n")
		}
		pre := false
		var prose []string
		flush := func() {
			for _, l := range wrap(strings.Join(prose, " "), 78) {
				b.WriteString(l + "\n")
			}
			prose = nil
		}
		for _, l := range strings.Split(para, "\n") {
			indented := strings.HasPrefix(l, "  ")
			switch {
			case indented && !pre:
				flush()
				b.WriteString(".RS 4\n.nf\n")
				pre = true
			case !indented && pre:
				b.WriteString(".fi\n.RE\n")
				pre = false
			}
			if indented {
				b.WriteString(roff(strings.TrimSpace(l)) + "\n")
			} else {
				prose = append(prose, l)
			}
		}
		flush()
		if pre {
			b.WriteString(".fi\n.RE\n")
		}
	}
}

// afterHeading says whether b ends with a section or subsection heading,
// where a paragraph macro is redundant.
func afterHeading(b *strings.Builder) bool {
	s := strings.TrimSuffix(b.String(), "\n")
	last := s[strings.LastIndex(s, "\n")+1:]
	return strings.HasPrefix(last, ".SH") || strings.HasPrefix(last, ".SS")
}

// wrap escapes text for roff and breaks it into lines of at most width
// bytes where it can (roff fills them again).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		word = roff(word)
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return lines
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// roff escapes text for a line of roff: backslashes, hyphens (as minus
// signs: they are flags and options), a leading dot or quote, and every
// character outside ASCII as a \[uXXXX] escape, which groff and mandoc both
// read.
func roff(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case i == 0 && (r == '.' || r == '\''):
			b.WriteString(`\&` + string(r))
		case r > unicode.MaxASCII:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quoteArg makes s one macro argument.
func quoteArg(s string) string {
	return `"` + strings.ReplaceAll(roff(s), `"`, `\(dq`) + `"`
}
