package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/fieldcase/fieldcase/caseload"
	"github.com/fieldcase/fieldcase/dictation"
	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/store"
	"github.com/fieldcase/fieldcase/sync/client"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// The demo's caseworkers, as users of the fake team view.
var teamUsers = []protocol.TeamUser{
	{ID: "u-okafor", Name: "J. Okafor", Role: protocol.RoleCaseworker, Devices: []protocol.TeamDevice{
		{ID: "d-okafor-1", Name: "okafor-laptop", LastSync: testNow.Add(-3 * time.Hour)}}},
	{ID: "u-lindqvist", Name: "R. Lindqvist", Role: protocol.RoleCaseworker, Devices: []protocol.TeamDevice{
		{ID: "d-lindqvist-1", Name: "lindqvist-laptop", LastSync: testNow.Add(-5 * 24 * time.Hour)}}},
	{ID: "u-patel", Name: "S. Patel", Role: protocol.RoleCaseworker, Devices: []protocol.TeamDevice{
		{ID: "d-patel-1", Name: "patel-laptop"}}},
	{ID: "u-doherty", Name: "M. Doherty", Role: protocol.RoleCaseworker, Devices: []protocol.TeamDevice{
		{ID: "d-doherty-1", Name: "doherty-laptop", LastSync: testNow.Add(-26 * time.Hour)},
		{ID: "d-doherty-2", Name: "old-tablet", Revoked: true}}},
	{ID: "u-sup", Name: "Sam Supervisor", Role: protocol.RoleSupervisor, Devices: []protocol.TeamDevice{
		{ID: "d-sup-1", Name: "sup-laptop", LastSync: testNow.Add(-20 * time.Minute)}}},
	{ID: "u-typist", Name: "Tia Typist", Role: protocol.RoleTypist},
}

// fakeTeam is a TeamService with a fixed team view that records the calls.
type fakeTeam struct {
	mu         sync.Mutex
	tv         *protocol.TeamView
	stored     *protocol.TeamView
	refreshErr error
	block      chan struct{} // when set, Refresh waits for it to close
	returned   chan struct{} // when set, closed when a Refresh returns
	assignErr  error
	assigns    []assignCall
	policies   []policyCall
}

type assignCall struct {
	caseID      string
	add, remove []string
}

type policyCall struct {
	pol     record.Policy
	version int
}

func (f *fakeTeam) Refresh(ctx context.Context) (*protocol.TeamView, error) {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.returned != nil {
		defer close(f.returned)
		f.returned = nil
	}
	if f.refreshErr != nil {
		return nil, f.refreshErr
	}
	tv := cloneTeamView(f.tv)
	f.stored = tv
	return tv, nil
}

func (f *fakeTeam) Stored() (*protocol.TeamView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneTeamView(f.stored), nil
}

func (f *fakeTeam) Assign(ctx context.Context, caseID string, add, remove []string) (*protocol.TeamCase, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assigns = append(f.assigns, assignCall{caseID, add, remove})
	if f.assignErr != nil {
		return nil, f.assignErr
	}
	idOf := func(name string) string {
		for _, u := range f.tv.Users {
			if u.Name == name {
				return u.ID
			}
		}
		return ""
	}
	for i, tc := range f.tv.Cases {
		if tc.ID != caseID {
			continue
		}
		for _, n := range add {
			tc.Members = append(tc.Members, idOf(n))
		}
		tc.Members = slices.DeleteFunc(tc.Members, func(id string) bool {
			return slices.ContainsFunc(remove, func(n string) bool { return idOf(n) == id })
		})
		f.tv.Cases[i] = tc
		out := tc
		out.Members = slices.Clone(tc.Members)
		return &out, nil
	}
	return nil, &protocol.Error{Code: protocol.CodeNotFound, Message: "no such case"}
}

func (f *fakeTeam) SetPolicy(ctx context.Context, p record.Policy, version int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policies = append(f.policies, policyCall{p, version})
	if version != f.tv.PolicyVersion {
		return 0, &protocol.Error{Code: protocol.CodeConflict,
			Message: fmt.Sprintf("the policy changed since you opened it (version %d, not %d): reload and edit again", f.tv.PolicyVersion, version)}
	}
	js, _ := json.Marshal(p)
	f.tv.Policy, f.tv.PolicyVersion = js, version+1
	return version + 1, nil
}

func (f *fakeTeam) calls() ([]assignCall, []policyCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.assigns), slices.Clone(f.policies)
}

func cloneTeamView(tv *protocol.TeamView) *protocol.TeamView {
	if tv == nil {
		return nil
	}
	b, _ := json.Marshal(tv)
	var out protocol.TeamView
	_ = json.Unmarshal(b, &out)
	return &out
}

// newFakeTeam builds the team view of a demo vault (unlocked): each case
// is held by its first worker; the policy gives the team 120 and S. Patel
// 160, version 3.
func newFakeTeam(t *testing.T, v *store.Vault) *fakeTeam {
	t.Helper()
	cases, err := v.Cases()
	if err != nil {
		t.Fatal(err)
	}
	tv := &protocol.TeamView{Team: "Demo Team North", Users: teamUsers, PolicyVersion: 3}
	for _, c := range cases {
		tc := protocol.TeamCase{ID: c.ID}
		for _, u := range teamUsers {
			if len(c.Value.Workers) > 0 && u.Name == c.Value.Workers[0] {
				tc.Members = append(tc.Members, u.ID)
			}
		}
		tv.Cases = append(tv.Cases, tc)
	}
	slices.SortFunc(tv.Cases, func(a, b protocol.TeamCase) int { return strings.Compare(a.ID, b.ID) })
	pol := record.DefaultPolicy()
	pol.Version = 3
	pol.Capacity = 120
	pol.Capacities = map[string]float64{"S. Patel": 160}
	tv.Policy, _ = json.Marshal(pol)
	return &fakeTeam{tv: tv, stored: cloneTeamView(tv)}
}

// roleVault is a demo vault whose user has a name and role; it is locked.
func roleVault(t *testing.T, name string, role protocol.Role) *store.Vault {
	t.Helper()
	v := openVault(t, demoVaultFile(t))
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	if err := v.SetProfile(store.Profile{Name: name, UserID: "u-" + strings.ToLower(strings.Fields(name)[0]), Team: "Demo Team North", Role: role}); err != nil {
		t.Fatal(err)
	}
	return v
}

// supervisorSetup is a supervisor's vault and the fake team service of it.
func supervisorSetup(t *testing.T) (*store.Vault, *fakeTeam, Options) {
	t.Helper()
	v := roleVault(t, "Sam Supervisor", protocol.RoleSupervisor)
	ft := newFakeTeam(t, v)
	v.Lock()
	opts := testOptions(t, v)
	opts.Team = ft
	return v, ft, opts
}

var keyBackspace = tea.KeyPressMsg{Code: tea.KeyBackspace}

// TestTeamGolden renders the team view, a worker's cases, the policy and
// the dictation turnaround (turnaroundFixture) of a supervisor at 80×24 and
// 160×48, and compares
// them, ANSI stripped, with testdata/TestTeamGolden/<size>/<screen>.golden
// (-update rewrites). The team view must fit every width it is given.
func TestTeamGolden(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			v, _, opts := supervisorSetup(t)
			if err := v.Unlock(testPass); err != nil {
				t.Fatal(err)
			}
			turnaroundFixture(t, v)
			v.Lock()
			p := start(t, opts, sz.w, sz.h)
			check := goldenCheck(t, sz.w, sz.h)
			p.unlock()
			p.notesLoaded()

			p.key(runeKey('T'))
			check("team", p.waitText("Team caseloads · Demo Team North", "updated 09:30", "J. Okafor", "S. Patel"))

			p.key(runeKey('?'))
			check("team-help", p.waitText("Keys: Team", "Over (Overdue)"))
			p.key(keyEsc)
			p.waitText("updated 09:30")

			p.key(keyEnter)
			check("worker-cases", p.waitText("M. Doherty · 49 open cases · sorted by", "▸ DEMO-"))
			p.key(keyEsc)
			p.waitText("updated 09:30")

			p.key(runeKey('p'))
			check("policy", p.waitText("Weighting policy", "version 3", "S. Patel=160"))
			p.key(keyEsc)
			p.waitText("updated 09:30")

			p.key(runeKey('t'))
			check("turnaround", p.waitText("Dictation turnaround", "3 waiting · 1 overdue", "S. Patel"))
			p.key(runeKey('?'))
			check("turnaround-help", p.waitText("Keys: Turnaround", "nearest rank"))
			p.key(keyEsc)
			p.key(keyEsc)
			p.waitText("updated 09:30")
			p.key(keyEsc)
			p.waitText("200 cases · sorted by")

			// Other widths: the team view always fits.
			p.key(runeKey('T'))
			p.waitText("updated 09:30")
			for _, w := range []int{50, 60, 76, 100, 119, 120, 200} {
				p.tm.Send(tea.WindowSizeMsg{Width: w, Height: sz.h})
				s := p.waitFor(fmt.Sprintf("team at %d", w), func(s string) bool {
					l := strings.Split(s, "\n")
					return len(l) == sz.h && len([]rune(strings.TrimRight(l[0], " "))) <= w && strings.Contains(s, "J. Okafor")
				})
				assertFits(t, fmt.Sprintf("team at %d", w), s, w, sz.h)
			}
			p.quit()
		})
	}
}

// TestConsentGolden renders a supervisor's consent overview at 80×24 and
// 120×40: as it opens, sorted by review date, filtered, and its help; and
// compares them, ANSI stripped, with testdata/TestConsentGolden/<size>/
// (-update rewrites). It must fit every width it is given.
func TestConsentGolden(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			v, _, opts := supervisorSetup(t)
			if err := v.Unlock(testPass); err != nil {
				t.Fatal(err)
			}
			turnaroundFixture(t, v)
			v.Lock()
			p := start(t, opts, sz.w, sz.h)
			check := goldenCheck(t, sz.w, sz.h)
			p.unlock()
			p.notesLoaded()
			p.key(runeKey('C'))
			check("consents", p.waitText("Consent problems · sorted by case", "problems in", "SCOPE"))
			p.key(runeKey('o'))
			p.waitText("sorted by person")
			p.key(runeKey('o'))
			p.waitText("sorted by decision")
			p.key(runeKey('o'))
			p.waitText("sorted by review date")
			p.key(runeKey('g'))
			check("consents-review", p.waitText("sorted by review date", "   1/302"))
			p.key(runeKey('/'))
			p.typeText("police ref")
			check("consents-filter", p.waitText("matches", "/ police ref"))
			p.key(keyEnter)
			p.key(runeKey('?'))
			check("consents-help", p.waitText("Keys: Consent overview", "Scope is what the decision covers"))
			p.key(keyEsc)
			p.waitText("/ police ref")
			for _, w := range []int{40, 50, 60, 79, 100, 109, 110, 160} {
				p.tm.Send(tea.WindowSizeMsg{Width: w, Height: sz.h})
				s := p.waitFor(fmt.Sprintf("consents at %d", w), func(s string) bool {
					l := strings.Split(s, "\n")
					return len(l) == sz.h && len([]rune(strings.TrimRight(l[0], " "))) <= w && strings.Contains(s, "PERSON")
				})
				assertFits(t, fmt.Sprintf("consents at %d", w), s, w, sz.h)
			}
			p.quit()
		})
	}
}

// TestTeamDrillDown: enter on a worker lists their cases (and only
// theirs); enter there opens the case.
func TestTeamDrillDown(t *testing.T) {
	v, ft, opts := supervisorSetup(t)
	p := start(t, opts, 100, 30)
	p.unlock()
	p.key(runeKey('T'))
	p.waitText("updated 09:30")
	// Go to R. Lindqvist's row.
	for i := 0; i < 6; i++ {
		s := p.screen()
		if strings.Contains(s, "▸ R. Lindqvist") {
			break
		}
		p.key(runeKey('j'))
		p.waitFor("cursor moved", func(n string) bool { return n != s })
	}
	p.waitText("▸ R. Lindqvist")
	p.key(keyEnter)
	s := p.waitText("R. Lindqvist · ", "open cases · sorted by", "Cases › Team › R. Lindqvist", "▸ DEMO-")
	var want int
	for _, tc := range ft.tv.Cases {
		if slices.Contains(tc.Members, "u-lindqvist") {
			cv, err := v.Case(tc.ID)
			if err == nil && cv.Value.Status != "closed" {
				want++
			}
		}
	}
	if !strings.Contains(s, fmt.Sprintf("R. Lindqvist · %d open cases", want)) {
		t.Fatalf("want %d open cases:\n%s", want, s)
	}
	p.key(keyEnter)
	s = p.waitText("People", "Cases › Team › R. Lindqvist › DEMO-")
	if !strings.Contains(s, "Demo Team North · R. Lindqvist") {
		t.Errorf("the case opened is not R. Lindqvist's:\n%s", s)
	}
	p.key(keyEsc)
	p.waitText("open cases · sorted by")
	p.key(keyEsc)
	p.waitText("updated 09:30")
	p.quit()
}

// TestTeamReassign: a case of a worker's list goes to another worker and
// is taken from the first (Assign gets the names); offline, the screen
// says the server is needed.
func TestTeamReassign(t *testing.T) {
	_, ft, opts := supervisorSetup(t)
	p := start(t, opts, 100, 30)
	p.unlock()
	p.key(runeKey('T'))
	p.waitText("updated 09:30")
	for i := 0; i < 6; i++ {
		s := p.screen()
		if strings.Contains(s, "▸ J. Okafor") {
			break
		}
		p.key(runeKey('j'))
		p.waitFor("cursor moved", func(n string) bool { return n != s })
	}
	p.waitText("▸ J. Okafor")
	p.key(keyEnter)
	s := p.waitText("J. Okafor · ", "open cases", "▸ DEMO-")
	var n int
	fmt.Sscanf(s[strings.Index(s, "J. Okafor · ")+len("J. Okafor · "):], "%d", &n)
	ref := s[strings.Index(s, "▸ ")+len("▸ "):]
	ref = ref[:strings.Index(ref, " ")]

	// The loads the picker should show: the team's rows and the case's
	// weight under the policy, added up here.
	loads := teamLoads(t, opts.Vault, ft)
	moved, err := opts.Vault.CaseByRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	weight := caseload.PolicyOf(ft.tv).Weight(moved.Value)
	okafor, patel := loads["u-okafor"], loads["u-patel"]
	row := func(w caseload.Worker, after float64, cases int) string {
		return fmt.Sprintf("%d → %d %.1f → %.1f / %s", w.OpenCases, cases, w.Weighted, after, num(w.Capacity))
	}
	squeeze := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	waitRows := func(texts ...string) string {
		t.Helper()
		return p.waitFor(strings.Join(texts, " + "), func(s string) bool {
			s = squeeze(s)
			for _, x := range texts {
				if !strings.Contains(s, x) {
					return false
				}
			}
			return true
		})
	}

	p.key(runeKey('a'))
	waitRows("Assign "+ref, "Held by: J. Okafor · the case weighs "+num(weight), "▸ J. Okafor "+
		row(okafor, okafor.Weighted, okafor.OpenCases)+" holds it · keeps it",
		"S. Patel "+row(patel, patel.Weighted+weight, patel.OpenCases+1))
	p.key(runeKey('G')) // S. Patel, last by name
	p.waitText("▸ S. Patel")
	p.key(runeKey(' '))
	// Ticked, the holder's row shows their load once the case is gone.
	waitRows("[x] also take it from", "J. Okafor "+row(okafor, okafor.Weighted-weight, okafor.OpenCases-1)+" holds it · loses it")
	p.key(keyEnter)
	p.waitText("Give " + ref + " to S. Patel and take it from J. Okafor (the case key is rotated)? y / n")
	p.key(runeKey('y'))
	p.waitText(ref+" is now held by S. Patel.", "The case key was rotated: J. Okafor cannot read what is written from now on.")
	// The loads have moved: S. Patel holds it now.
	p.waitText("Held by: S. Patel")
	waitRows("S. Patel "+row(caseload.Worker{OpenCases: patel.OpenCases + 1, Weighted: patel.Weighted + weight, Capacity: patel.Capacity},
		patel.Weighted+weight, patel.OpenCases+1)+" holds it · keeps it",
		"J. Okafor "+row(okafor.Lose(weight), okafor.Weighted, okafor.OpenCases))

	as, _ := ft.calls()
	if len(as) != 1 || !slices.Equal(as[0].add, []string{"S. Patel"}) || !slices.Equal(as[0].remove, []string{"J. Okafor"}) {
		t.Fatalf("Assign calls %+v, want add S. Patel, remove J. Okafor", as)
	}
	cv := caseIDOnScreenRef(t, opts.Vault, ref)
	if as[0].caseID != cv {
		t.Errorf("Assign for case %s, want %s", as[0].caseID, cv)
	}

	// Offline.
	ft.mu.Lock()
	ft.assignErr = fmt.Errorf("%w: dial tcp 10.0.0.1:8443: connect: connection refused", client.ErrOffline)
	ft.mu.Unlock()
	p.key(runeKey('k')) // R. Lindqvist
	p.waitText("▸ R. Lindqvist")
	p.key(keyEnter)
	p.waitText("Give " + ref + " to R. Lindqvist and take it from S. Patel (the case key is rotated)? y / n")
	p.key(runeKey('y'))
	p.waitText("Not reassigned: this needs the server; try again when online.")

	// Back in J. Okafor's list the case has gone.
	p.key(keyEsc)
	p.waitText(fmt.Sprintf("J. Okafor · %d open cases", n-1))

	// Back in the team view, the numbers are recomputed at once, before
	// the server answers (its refresh is held back here).
	ft.mu.Lock()
	ft.block = make(chan struct{})
	ft.mu.Unlock()
	var once sync.Once
	release := func() {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		once.Do(func() { close(ft.block) })
	}
	t.Cleanup(release)
	teamRow := func(name string, w caseload.Worker) string {
		return fmt.Sprintf("%s %d %s %.1f/%s", name, w.OpenCases, loadBar(w.Load(), 10), w.Weighted, num(w.Capacity))
	}
	okaforAfter := caseload.Worker{OpenCases: okafor.OpenCases - 1, Weighted: okafor.Weighted - weight, Capacity: okafor.Capacity}
	patelAfter := caseload.Worker{OpenCases: patel.OpenCases + 1, Weighted: patel.Weighted + weight, Capacity: patel.Capacity}
	p.key(keyEsc)
	s = p.waitFor("the team view with the case moved", func(s string) bool {
		s = squeeze(s)
		return strings.Contains(s, "refreshing…") &&
			strings.Contains(s, teamRow("J. Okafor", okaforAfter)) &&
			strings.Contains(s, teamRow("S. Patel", patelAfter))
	})
	if strings.Contains(squeeze(s), teamRow("J. Okafor", okafor)) {
		t.Errorf("the team view still shows J. Okafor's load before the move:\n%s", s)
	}
	release()
	p.waitText("updated 09:30")
	s = squeeze(p.screen())
	if !strings.Contains(s, teamRow("J. Okafor", okaforAfter)) || !strings.Contains(s, teamRow("S. Patel", patelAfter)) {
		t.Errorf("after the server's refresh the loads are not the moved ones:\n%s", s)
	}
	p.quit()
}

// teamLoads are the rows of the fake team's view, by user id (the vault
// unlocked).
func teamLoads(t *testing.T, v *store.Vault, ft *fakeTeam) map[string]caseload.Worker {
	t.Helper()
	ft.mu.Lock()
	tv := cloneTeamView(ft.tv)
	ft.mu.Unlock()
	rows, err := caseload.Build(v, tv, testNow)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]caseload.Worker{}
	for _, w := range rows {
		out[w.UserID] = w
	}
	return out
}

// caseIDOnScreenRef is the id of the case with that reference.
func caseIDOnScreenRef(t *testing.T, v *store.Vault, ref string) string {
	t.Helper()
	cv, err := v.CaseByRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return cv.ID
}

// TestTeamRefusedAndOffline: the team view is for supervisors; with no
// case server it says so; offline it shows the kept view and says so.
func TestTeamRefusedAndOffline(t *testing.T) {
	t.Run("caseworker", func(t *testing.T) {
		v := roleVault(t, "J. Okafor", protocol.RoleCaseworker)
		v.Lock()
		opts := testOptions(t, v)
		opts.Team = &fakeTeam{}
		p := start(t, opts, 80, 24)
		p.unlock()
		p.key(runeKey('T'))
		p.waitText("The team view is for supervisors.")
		p.quit()
	})
	t.Run("not enrolled", func(t *testing.T) {
		v := roleVault(t, "Sam Supervisor", protocol.RoleSupervisor)
		v.Lock()
		p := start(t, testOptions(t, v), 80, 24)
		p.unlock()
		p.key(runeKey('T'))
		p.waitText("not enrolled — no team view on this device")
		p.quit()
	})
	t.Run("offline", func(t *testing.T) {
		_, ft, opts := supervisorSetup(t)
		ft.refreshErr = fmt.Errorf("%w: dial tcp: connection refused", client.ErrOffline)
		p := start(t, opts, 80, 24)
		p.unlock()
		p.key(runeKey('T'))
		p.waitText("offline — showing team view kept on this device", "J. Okafor")
		p.quit()
	})
	t.Run("offline, fetched before", func(t *testing.T) {
		v, ft, opts := supervisorSetup(t)
		if err := v.Unlock(testPass); err != nil {
			t.Fatal(err)
		}
		b, _ := testNow.Add(-2 * time.Hour).MarshalText()
		if err := v.PutLocal(teamFetchedKey, b); err != nil {
			t.Fatal(err)
		}
		v.Lock()
		ft.refreshErr = fmt.Errorf("%w: dial tcp: connection refused", client.ErrOffline)
		p := start(t, opts, 80, 24)
		p.unlock()
		p.key(runeKey('T'))
		p.waitText("offline — showing team view from 2 Nov 07:30", "J. Okafor")
		p.quit()
	})
	t.Run("refreshing", func(t *testing.T) {
		_, ft, opts := supervisorSetup(t)
		ft.block = make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(ft.block) }) }
		p := start(t, opts, 80, 24)
		t.Cleanup(release) // before the program's own cleanup
		p.unlock()
		p.key(runeKey('T'))
		p.waitText("refreshing… (showing the team view kept on this device)", "J. Okafor")
		release()
		p.waitText("updated 09:30")
		p.quit()
	})
	t.Run("error", func(t *testing.T) {
		_, ft, opts := supervisorSetup(t)
		ft.stored = nil
		ft.refreshErr = &protocol.Error{Code: protocol.CodeForbidden, Message: "supervisors only"}
		p := start(t, opts, 80, 24)
		p.unlock()
		p.key(runeKey('T'))
		p.waitText("Could not refresh: the server refused",
			"No team view on this device yet")
		p.quit()
	})
}

// TestTeamRefreshLeftBehind: a refresh still under way when the supervisor
// opens a worker's cases answers that screen, not the team view; back in
// the team view it is asked for again rather than waited for for ever.
func TestTeamRefreshLeftBehind(t *testing.T) {
	_, ft, opts := supervisorSetup(t)
	ft.block = make(chan struct{})
	var once sync.Once
	release := func() {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		once.Do(func() { close(ft.block) })
	}
	p := start(t, opts, 100, 30)
	t.Cleanup(release)
	p.unlock()
	p.key(runeKey('T'))
	p.waitText("refreshing… (showing the team view kept on this device)", "▸ M. Doherty")
	p.key(keyEnter)
	p.waitText("M. Doherty · 49 open cases")
	ft.mu.Lock()
	returned := make(chan struct{})
	ft.returned = returned
	ft.mu.Unlock()
	release() // the refresh answers while the worker's cases are shown
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh did not return")
	}
	// Its answer (built from the vault after Refresh returns) reaches the
	// worker's cases; nothing on the screen shows it, so wait a while.
	time.Sleep(time.Second)
	ft.mu.Lock()
	ft.tv.PolicyVersion = 9 // and the server's view has changed since
	ft.mu.Unlock()
	p.key(keyEsc)
	p.waitText("updated 09:30", "policy v9")
	p.quit()
}

// TestPolicyEdit: an invalid capacity is refused without asking the
// server; a valid one is saved with the version the edit started from; a
// stale version is reported.
func TestPolicyEdit(t *testing.T) {
	_, ft, opts := supervisorSetup(t)
	p := start(t, opts, 100, 30)
	p.unlock()
	p.key(runeKey('T'))
	p.waitText("updated 09:30")
	p.key(runeKey('p'))
	p.waitText("Weighting policy", "version 3", "Capacity                120")
	p.key(runeKey('e'))
	p.waitText("▸ Base")
	p.key(keyShiftTab) // capacities by worker
	p.key(keyShiftTab) // capacity
	p.waitText("▸ Capacity ")
	p.key(keyBackspace)
	p.key(keyBackspace)
	p.key(keyBackspace)
	p.typeText("0")
	p.key(keyCtrlS)
	p.waitText("capacity must be positive")
	if _, ps := ft.calls(); len(ps) != 0 {
		t.Fatalf("SetPolicy called with an invalid policy: %+v", ps)
	}
	p.key(keyBackspace)
	p.typeText("25")
	p.key(keyCtrlS)
	p.waitText("Saved: the weighting policy is now version 4, signed by this laptop.", "version 4", "Capacity                25")
	_, ps := ft.calls()
	if len(ps) != 1 || ps[0].version != 3 || ps[0].pol.Capacity != 25 || ps[0].pol.Capacities["S. Patel"] != 160 || ps[0].pol.Base != 1 {
		t.Fatalf("SetPolicy calls %+v, want capacity 25 from version 3", ps)
	}

	// Another supervisor saves meanwhile: this edit is refused.
	ft.mu.Lock()
	ft.tv.PolicyVersion = 7
	ft.mu.Unlock()
	p.key(runeKey('e'))
	p.waitText("▸ Base")
	p.key(keyBackspace)
	p.typeText("2")
	p.key(keyCtrlS)
	p.waitText("Not saved: another supervisor changed the policy")
	p.key(keyEsc)
	p.waitText("Not changed.", "version 4")
	p.key(keyEsc)
	// The team view refreshes after a change: now version 7.
	p.waitText("policy v7", "updated 09:30")
	p.quit()
}

// TestConsentOverview lists a case with a refused consent; enter opens it.
func TestConsentOverview(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	cases, err := v.Cases()
	if err != nil {
		t.Fatal(err)
	}
	var target store.CaseView
	for _, c := range cases {
		if c.Value.Status != "closed" {
			target = c
			break
		}
	}
	if _, err := v.AddConsent(target.ID, record.Consent{Person: target.Value.Subject, Scope: []string{"health"},
		Decision: "refused", Date: "2026-10-01"}); err != nil {
		t.Fatal(err)
	}
	v.Lock()
	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.key(runeKey('C'))
	s := p.waitText("Consent problems", target.Value.Ref, "refused")
	var row string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "refused") && strings.Contains(l, target.Value.Subject) {
			row = l
		}
	}
	if row == "" || !strings.Contains(row, target.Value.Ref) || !strings.Contains(row, " health ") {
		t.Errorf("no refused row for %s %s with its scope:\n%s", target.Value.Ref, target.Value.Subject, s)
	}
	// Filter: the case's reference and the scope find only its problems
	// about health; the cursor goes to the best match.
	p.key(runeKey('/'))
	p.typeText(target.Value.Ref + " health")
	s = p.waitText("/ "+target.Value.Ref+" health", "▸ "+target.Value.Ref)
	for _, l := range strings.Split(s, "\n")[4:] {
		if strings.Contains(l, "DEMO-") && !strings.Contains(l, target.Value.Ref) {
			t.Errorf("the filter shows another case: %q\n%s", l, s)
		}
	}
	if !strings.Contains(s, "1 match") && !strings.Contains(s, "matches") {
		t.Errorf("no count of matches:\n%s", s)
	}
	p.key(keyEnter) // done typing: the keys move again
	p.key(runeKey('o'))
	p.waitText("Consent problems · sorted by person · ", "/ "+target.Value.Ref+" health")
	p.key(keyEsc) // clears the filter first
	s = p.waitText("sorted by person", " problems in ")
	if strings.Contains(s, "/ "+target.Value.Ref) {
		t.Errorf("esc did not clear the filter:\n%s", s)
	}
	p.key(runeKey('/'))
	p.typeText("zzzzqqq")
	p.waitText("No consent problem matches “zzzzqqq”. Press esc to clear the filter.")
	p.key(keyEsc)
	p.waitText(" problems in ")
	p.key(runeKey('/'))
	p.typeText(target.Value.Ref + " refused")
	p.waitText("▸ " + target.Value.Ref)
	p.key(keyEnter)
	p.key(keyEnter)
	p.waitText(target.Value.Ref+"  ", "People", "Consent overview › "+target.Value.Ref)
	p.key(keyEsc)
	p.waitText("Consent problems")
	p.quit()
}

// TestAccessHistory: opening a case records one open event, which the
// access history (A) shows; coming back does not record another.
func TestAccessHistory(t *testing.T) {
	v := openVault(t, demoVaultFile(t))
	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.key(keyEnter)
	s := p.waitText("People")
	ref := strings.Fields(strings.Split(s, "\n")[1])[0]
	p.key(runeKey('A'))
	s = p.waitText("Access history · "+ref, "open ", openAuditDetail, "Test Worker")
	if n := strings.Count(s, openAuditDetail); n != 1 {
		t.Errorf("%d open events, want 1:\n%s", n, s)
	}
	p.key(keyEsc)
	p.waitText("People")
	p.key(runeKey('A'))
	s = p.waitText("Access history · " + ref)
	s = p.waitText(openAuditDetail)
	if n := strings.Count(s, openAuditDetail); n != 1 {
		t.Errorf("after coming back, %d open events, want 1:\n%s", n, s)
	}
	p.quit()

	cv, err := v.CaseByRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	es, err := v.AuditEvents(cv.ID)
	if err != nil {
		t.Fatal(err)
	}
	opens := 0
	for _, e := range es {
		if e.Action == record.AuditOpen {
			opens++
		}
	}
	if opens != 1 {
		t.Errorf("%d open events in the vault, want 1", opens)
	}
}

// TestTypistTranscribe: a recording submitted for typing is in the
// typist's queue; the transcript typed there becomes a note of the case
// and the recording is marked transcribed.
func TestTypistTranscribe(t *testing.T) {
	v := roleVault(t, "Tia Typist", protocol.RoleTypist)
	caseID := caseByRef(t, v, "DEMO-0042")
	id := makeRecording(t, v, caseID, time.Second, record.Recording{Title: "Visit to the school", Priority: "urgent", Author: "M. Doherty"})
	r, err := dictation.Open(v, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	v.Lock()

	p := start(t, testOptions(t, v), 100, 30)
	p.unlock()
	p.key(runeKey('C'))
	p.waitText("The consent overview is for caseworkers and supervisors.")
	p.key(runeKey('W'))
	p.waitText("Recordings to type", "1 recording waiting", "DEMO-0042", "Visit to the school", "urgent")
	// p plays it in the recorder (no sound device needed to open it).
	p.key(runeKey('p'))
	p.waitText("Dictation · DEMO-0042 · Visit to the school")
	p.key(keyEsc)
	p.waitText("Recordings to type", "1 recording waiting")
	p.key(keyEnter)
	p.waitText("Transcript · DEMO-0042 · Visit to the school", "Dictated by M. Doherty")
	p.key(keyCtrlS)
	p.waitText("The transcript is empty.")
	p.typeText("Visited the school;")
	p.waitText("Visited the school;")
	// Leaving keeps it; it is back when the recording is opened again.
	p.key(keyEsc)
	p.waitText("Transcript kept: it is back when you open this recording again.", "1 recording waiting")
	p.key(keyEnter)
	p.waitText("Your transcript from before is back.", "Visited the school;")
	p.typeText(" the head teacher reports good attendance.")
	p.waitText("good attendance.")
	p.key(keyCtrlS)
	p.waitText("Transcript saved as a note of DEMO-0042; the recording is marked transcribed.",
		"Nothing waiting for typing on this device.")
	p.quit()

	it, err := v.Recording(id)
	if err != nil {
		t.Fatal(err)
	}
	if it.Value.Status != "transcribed" || it.Value.Transcript == "" || it.Value.TranscribedBy != "Tia Typist" || it.Value.Transcribed == "" {
		t.Fatalf("recording %+v, want transcribed by Tia Typist, with the time and a transcript note", it.Value)
	}
	notes, err := v.Notes(caseID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range notes {
		if n.ID == it.Value.Transcript {
			found = n.Value.Text == "Visited the school; the head teacher reports good attendance." && n.Value.Author == "Tia Typist"
		}
	}
	if !found {
		t.Errorf("no note %s with the transcript in the case", it.Value.Transcript)
	}
	if m, err := v.Locals(transcriptKey(id)); err != nil || len(m) != 0 {
		t.Errorf("the kept transcript is still in the vault after saving (%v)", err)
	}
}

// A transcript typed just before a quit (before its autosave) is kept, as a
// note being typed is.
func TestTranscriptKeptAtQuit(t *testing.T) {
	v := roleVault(t, "Tia Typist", protocol.RoleTypist)
	caseID := caseByRef(t, v, "DEMO-0042")
	id := makeRecording(t, v, caseID, time.Second, record.Recording{Title: "Visit to the school", Author: "M. Doherty"})
	r, err := dictation.Open(v, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	v.Lock()

	opts := testOptions(t, v)
	opts.DraftDelay = time.Hour // no autosave: only the quit can keep it
	p := start(t, opts, 100, 30)
	p.unlock()
	p.key(runeKey('W'))
	p.waitText("1 recording waiting")
	p.key(keyEnter)
	p.waitText("Transcript · DEMO-0042")
	p.typeText("The guardian met the child at school.")
	p.waitText("at school.")
	p.key(keyCtrlC)
	p.final()

	if err := v.Unlock(testPass); err != nil {
		t.Fatal(err)
	}
	m, err := v.Locals(transcriptKey(id))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m[transcriptKey(id)]); got != "The guardian met the child at school." {
		t.Errorf("kept transcript %q after quitting", got)
	}
}

// The typist's queue is in due order, soonest first, an overdue one marked;
// a recording submitted before due dates were kept comes last.
func TestTypingQueueByDue(t *testing.T) {
	v := roleVault(t, "Tia Typist", protocol.RoleTypist)
	caseID := caseByRef(t, v, "DEMO-0042")
	submit := func(title string, priority record.Priority, at time.Time) {
		id := makeRecording(t, v, caseID, time.Second, record.Recording{Title: title, Priority: priority, Author: "M. Doherty"})
		r, err := dictation.Open(v, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Submit(at, "", dictation.DefaultDueRules); err != nil {
			t.Fatal(err)
		}
	}
	// testNow is Mon 2 Nov 2026.
	submit("Normal, last Monday", "normal", testNow.AddDate(0, 0, -7))   // due Mon 2 Nov: today
	submit("Urgent, last Thursday", "urgent", testNow.AddDate(0, 0, -4)) // due Fri 30 Oct: overdue
	submit("High, today", "high", testNow)                               // due Wed 4 Nov
	old := makeRecording(t, v, caseID, time.Second, record.Recording{Title: "Before due dates", Priority: "urgent"})
	r, err := dictation.Open(v, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus("submitted"); err != nil {
		t.Fatal(err)
	}
	v.Lock()

	p := start(t, testOptions(t, v), 120, 30)
	p.unlock()
	p.key(runeKey('W'))
	s := p.waitText("4 recordings waiting", "Due soonest first")
	order := []string{"Fri 30 Oct !", "Mon 2 Nov", "Wed 4 Nov", "—"}
	titles := []string{"Urgent, last Thursday", "Normal, last Monday", "High, today", "Before due dates"}
	last := -1
	for i, title := range titles {
		at := strings.Index(s, title)
		if at < 0 || at < last {
			t.Fatalf("%q not listed after the ones due before it:\n%s", title, s)
		}
		line := s[strings.LastIndex(s[:at], "\n")+1 : at]
		if !strings.Contains(line, order[i]) {
			t.Errorf("%q: its row %q lacks the due date %q", title, line, order[i])
		}
		last = at
	}
	p.key(keyEnter)
	p.waitText("Transcript · DEMO-0042 · Urgent, last Thursday", "due Fri 30 Oct !")
	p.key(keyEsc)
	p.waitText("4 recordings waiting")
	p.quit()
}
