// Package demo fills a vault with clearly fictional but realistic case data:
// for `make run`, `fieldcase demo`, tests and benchmarks. Every name, street
// and town is invented; references start with DEMO-.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
)

// Passphrase unlocks demo vaults. It is shown on the unlock screen of a demo
// vault: demo data is not secret.
const Passphrase = "demo-passphrase-not-secret"

// Options shape the generated data.
type Options struct {
	Cases        int       // default 200
	NotesPerCase int       // average; default 15
	NoteBytes    int       // approximate note length; 0 gives natural lengths (300–1,500 bytes)
	Seed         uint64    // same seed, same data
	Today        time.Time // dates are spread around it; default now
	Consents     bool      // default true (set SkipConsents to disable)
	SkipConsents bool
	SkipTasks    bool
	// Prose makes note text of Zipf-distributed words from a 5,000-word
	// vocabulary instead of the demo's template sentences, which repeat and
	// compress far better than real notes do. Benchmarks use it.
	Prose bool
}

func (o *Options) defaults() {
	if o.Cases == 0 {
		o.Cases = 200
	}
	if o.NotesPerCase == 0 {
		o.NotesPerCase = 15
	}
	if o.Today.IsZero() {
		o.Today = time.Now()
	}
}

var (
	firstNames = []string{"Amelia", "Oliver", "Isla", "Noah", "Ava", "Leo", "Mia", "Arthur", "Freya", "Oscar", "Lily", "Theo",
		"Ruby", "Jack", "Evie", "Harry", "Poppy", "Alfie", "Grace", "Finley", "Zara", "Kai", "Maya", "Rhys", "Nia", "Tomasz", "Aisha", "Darius"}
	women    = []string{"Sarah", "Joanne", "Kerry", "Lisa", "Donna", "Nadia", "Beata", "Ama"}
	men      = []string{"Michael", "David", "Paul", "Mark", "Gary", "Imran", "Kwame", "Piotr"}
	surnames = []string{"Ashdown", "Brightwater", "Cobbleworth", "Dunmore", "Elderfield", "Fenwright", "Greystock", "Hollowell",
		"Ivesley", "Juniper", "Kestrelby", "Larkhill", "Marlowe-Fictus", "Nettlebed", "Oakhampstead", "Pennywhistle", "Quillfeather",
		"Rookwood", "Sallowmere", "Thistleby", "Underhay", "Vantwell", "Willowick", "Yarrowdale"}
	streets = []string{"Hawthorn Row", "Kiln Lane", "Mill Close", "Orchard Way", "Station Approach", "Tanner's Yard", "Beacon Rise",
		"Chapel Walk", "Foundry Street", "Quarry View"}
	towns    = []string{"Ashbury", "Millbrook", "Fernwick", "Little Harrow", "Stonebridge", "Kettleby Vale"}
	schools  = []string{"Millbrook Primary", "Fernwick Academy", "St Aldhelm's (fictional) Primary", "Stonebridge High"}
	courts   = []string{"Ashbury Family Court", "Stonebridge Family Court"}
	hearings = []string{"case management hearing", "issues resolution hearing", "final hearing", "interim care order review"}
	workers  = []string{"J. Okafor", "R. Lindqvist", "S. Patel", "M. Doherty"}
)

var sentences = []string{
	"Home visit to {child} at {address}; {adult} present throughout.",
	"{child} appeared well presented and engaged with me for most of the visit.",
	"Home conditions were adequate, with food in the fridge and a clean kitchen.",
	"The living room was cluttered and there was a strong smell of smoke; discussed this with {adult}.",
	"{child} showed me their bedroom, which was tidy, with a bed, toys and school books.",
	"{adult} reported that {child}'s attendance at {school} has improved to about 90% this term.",
	"{adult} said money is very tight this month and asked about support with the electricity bill.",
	"I spoke with {child} alone; they said they feel safe at home and like their new teacher.",
	"{child} was quiet and withdrawn today and did not want to talk about contact with their father.",
	"Discussed the safety plan and agreed that {adult} will call the duty line if there are any concerns.",
	"Telephone call with the school nurse, who has no new concerns about {child}'s health.",
	"{adult} disclosed that a former partner had turned up at the address last week; police were not called.",
	"Reviewed the child in need plan with {adult}; actions on housing and school transport remain outstanding.",
	"The health visitor has completed a developmental check and {child} is meeting milestones.",
	"Supervision discussion: risk remains at the current level; next review at the core group meeting.",
	"Attended court; the hearing was adjourned to a later date for a parenting assessment.",
	"{child} has started attending the after-school club twice a week, which {adult} says helps.",
	"Agreed next steps: referral to family support, a joint visit with housing, and a review in four weeks.",
	"No answer at the door at the agreed time; left a card and will try again tomorrow morning.",
	"{adult} was tearful and said they are struggling with their mental health; gave details of the local service.",
}

type gen struct {
	r     *rand.Rand
	today time.Time
	zipf  *rand.Zipf
	vocab []string
	// world is set by PopulateFor: the cases a persona holds, out of the
	// one demo world every persona's vault is cut from.
	world *world
}

// Prose returns about n bytes of Zipf-distributed prose (see Options.Prose).
func Prose(n int, seed uint64) string {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(g.proseSentence())
	}
	return b.String()
}

// proseSentence is 6–20 words drawn by rank from a Zipf distribution, the
// shape of word frequencies in natural language.
func (g *gen) proseSentence() string {
	if g.vocab == nil {
		g.vocab = vocabulary(5000)
		g.zipf = rand.NewZipf(g.r, 1.07, 2, uint64(len(g.vocab)-1))
	}
	n := 6 + g.r.IntN(15)
	words := make([]string, n)
	for i := range words {
		words[i] = g.vocab[g.zipf.Uint64()]
	}
	words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	return strings.Join(words, " ") + "."
}

// vocabulary makes n distinct pronounceable words, short ones first (the
// frequent words of a language are short).
func vocabulary(n int) []string {
	r := rand.New(rand.NewPCG(99, 99))
	cons := "bcdfghjklmnprstvwy"
	vows := "aeiou"
	seen := map[string]bool{}
	var out []string
	for syll := 1; len(out) < n; syll++ {
		for tries := 0; tries < n*4 && len(out) < n; tries++ {
			var b strings.Builder
			for s := 0; s < syll; s++ {
				b.WriteByte(cons[r.IntN(len(cons))])
				b.WriteByte(vows[r.IntN(len(vows))])
				if r.IntN(3) == 0 {
					b.WriteByte(cons[r.IntN(len(cons))])
				}
			}
			if w := b.String(); !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
			if syll == 1 && tries > 2000 {
				break
			}
		}
	}
	return out
}

func (g *gen) pick(xs []string) string { return pickOf(g, xs) }

// pickOf is pick for any list (a method cannot be generic).
func pickOf[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

func (g *gen) date(daysFrom, daysTo int) record.Date {
	d := daysFrom + g.r.IntN(daysTo-daysFrom+1)
	return record.DateOf(g.today.AddDate(0, 0, d))
}

// fillIn puts a case's people and places into a template sentence.
func fillIn(s, child, adult, address, school string) string {
	return strings.NewReplacer("{child}", strings.Fields(child)[0], "{adult}", adult, "{address}", address, "{school}", school).Replace(s)
}

// Populate adds the demo data to v in one transaction.
func Populate(v *store.Vault, o Options) error {
	o.defaults()
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, 0x5eed)), today: o.Today}
	return g.populate(v, o)
}

func (g *gen) populate(v *store.Vault, o Options) error {
	return v.Update(func(tx *store.Tx) error {
		for i := 1; i <= o.Cases; i++ {
			if err := g.addCase(tx, i, o); err != nil {
				return fmt.Errorf("demo case %d: %w", i, err)
			}
		}
		return nil
	})
}

// writer is where a case's records go: the vault, or nowhere for a case the
// persona does not hold (its data is still drawn, so that every persona's
// DEMO-0007 is the same case).
type writer interface {
	NewCase(record.Case) (string, error)
	AddNote(string, record.Note) (string, error)
	AddConsent(string, record.Consent) (string, error)
	AddTask(string, record.Task) (string, error)
}

type discard struct{}

func (discard) NewCase(record.Case) (string, error)               { return "", nil }
func (discard) AddNote(string, record.Note) (string, error)       { return "", nil }
func (discard) AddConsent(string, record.Consent) (string, error) { return "", nil }
func (discard) AddTask(string, record.Task) (string, error)       { return "", nil }

func (g *gen) addCase(stx *store.Tx, i int, o Options) error {
	var tx writer = stx
	sur := g.pick(surnames)
	child := g.pick(firstNames) + " " + sur
	role := g.pick([]string{"mother", "father", "carer", "grandmother"})
	adult := g.pick(women) + " " + sur
	if role == "father" || (role == "carer" && g.r.IntN(2) == 0) {
		adult = g.pick(men) + " " + sur
	}
	address := fmt.Sprintf("%d %s, %s", 1+g.r.IntN(120), g.pick(streets), g.pick(towns))
	c := record.Case{
		Ref:     fmt.Sprintf("DEMO-%04d", i),
		Subject: child,
		DOB:     g.date(-17*365, -365),
		People: []record.Person{
			{Name: child, Role: "child"},
			{Name: adult, Role: role, Phone: fmt.Sprintf("07700 900%03d", g.r.IntN(1000))},
		},
		Address:   address,
		Status:    pickOf(g, []record.CaseStatus{record.CaseOpen, record.CaseOpen, record.CaseOpen, record.CaseOpen, record.CasePending, record.CaseClosed}),
		Risk:      g.pick([]string{"low", "medium", "medium", "high"}),
		Team:      "Demo Team North",
		Workers:   []string{g.pick(workers)},
		NextVisit: g.date(-20, 40),
		Weights: record.Weights{
			Children:   1 + g.r.IntN(4),
			Complexity: 1 + g.r.IntN(3),
			CourtStage: g.pick(record.CourtStages),
			TravelMins: 5 + g.r.IntN(60),
		},
		Summary: "Fictional demo case. " + fillIn(g.pick(sentences[10:15]), child, adult, address, g.pick(schools)),
		Opened:  g.date(-900, -30),
	}
	if c.Weights.CourtStage != "none" {
		c.CourtDates = []record.CourtDate{{Date: g.date(-10, 60), Hearing: g.pick(hearings), Court: g.pick(courts)}}
	}
	if g.r.IntN(3) == 0 {
		c.People = append(c.People, record.Person{Name: g.pick(firstNames) + " " + sur, Role: "sibling", DOB: g.date(-15*365, -400)})
	}
	f := fate{held: true, typing: -1, day: -1}
	if g.world != nil {
		f = g.world.place(c)
	}
	if !f.held {
		tx = discard{}
	}
	caseID, err := tx.NewCase(c)
	if err != nil {
		return err
	}
	fill := func(s string) string { return fillIn(s, child, adult, address, g.pick(schools)) }
	notes := g.r.IntN(2*o.NotesPerCase + 1)
	for n := 0; n < notes; n++ {
		var text strings.Builder
		target := o.NoteBytes
		if target == 0 {
			target = 300 + g.r.IntN(1200)
		}
		for text.Len() < target {
			if text.Len() > 0 {
				text.WriteString(" ")
			}
			if o.Prose {
				text.WriteString(g.proseSentence())
			} else {
				text.WriteString(fill(g.pick(sentences)))
			}
		}
		note := record.Note{
			Kind:      g.pick([]string{"visit", "visit", "visit", "phone", "court", "supervision"}),
			Date:      g.date(-400, 0),
			Time:      fmt.Sprintf("%02d:%02d", 8+g.r.IntN(10), 15*g.r.IntN(4)),
			Place:     g.pick([]string{address, "Office", g.pick(schools), g.pick(courts)}),
			Attendees: []string{adult, strings.Fields(child)[0]},
			Text:      text.String(),
			Author:    c.Workers[0],
		}
		if _, err := tx.AddNote(caseID, note); err != nil {
			return err
		}
	}
	if !o.SkipConsents {
		for k := g.r.IntN(3); k >= 0; k-- {
			con := record.Consent{
				Person:     g.pick([]string{adult, child}),
				Scope:      []string{g.pick(record.ConsentScopes[:5])},
				Decision:   g.pick([]string{"given", "given", "given", "refused", "withdrawn"}),
				Date:       g.date(-600, -1),
				ReviewDate: g.date(-60, 300),
			}
			if g.r.IntN(4) == 0 {
				con.CapacityNote = "Capacity assessed at the visit; understood what sharing means."
			}
			if _, err := tx.AddConsent(caseID, con); err != nil {
				return err
			}
		}
	}
	if !o.SkipTasks {
		for k := g.r.IntN(3); k >= 0; k-- {
			t := record.Task{
				Title: g.pick([]string{"Statutory visit", "Review meeting", "Call school", "Chase housing referral", "Write court statement"}),
				Kind:  g.pick([]string{"visit", "task"}),
				Due:   g.date(-15, 45),
			}
			if g.r.IntN(4) == 0 {
				t.Done, t.DoneOn = true, g.date(-30, 0)
			}
			if _, err := tx.AddTask(caseID, t); err != nil {
				return err
			}
		}
	}
	if g.world != nil && f.held {
		return g.world.hold(tx, caseID, c, f)
	}
	return nil
}
