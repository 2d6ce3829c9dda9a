package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// copyExample copies the files of examples/NAME into a new directory.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "examples", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFollowUpsRehearsal runs the README's first command, on examples/
// follow-ups with the real date: a rehearsal with -wait, which starts the
// embedded sandbox's clock at the campaign's start_at and moves it through
// the campaign's days. It checks that the right follow-ups reached the right people:
// "yes" gets the code, "no" gets nothing more, the silent get the nudge,
// and nobody gets anything twice.
func TestFollowUpsRehearsal(t *testing.T) {
	dir := copyExample(t, "follow-ups")
	w := &world{t: t, dir: dir}
	out := w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	wants := []string{"Nothing more is scheduled.", "campaign.black_friday.message.nudge", `answered "yes"`,
		`Statuses are those of the last refresh. Later, "ujumbe refresh -sandbox" brings in`}
	// The campaign's dates are real and past: the rehearsal plays it from
	// its start_at, on any day after it (before it, from now).
	const start = "2026-11-27T08:00:00+03:00"
	if at, _ := time.Parse(time.RFC3339, start); time.Now().After(at) {
		wants = append(wants, "Rehearsing on a simulated clock, now "+start)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("apply -wait output lacks %q:\n%s", want, out)
		}
	}

	rehearsal := filepath.Join(dir, rehearsalDir)
	st, _, err := state.Read(filepath.Join(rehearsal, defaultStateName))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.New(sandbox.Options{DataFile: filepath.Join(rehearsal, "sandbox.data")})
	if err != nil {
		t.Fatal(err)
	}
	stats := srv.Stats()
	srv.Close()
	if len(stats.Duplicates) > 0 {
		t.Fatalf("duplicates: %+v", stats.Duplicates)
	}
	accepted := func(message, key string) bool {
		s, ok := st.Get(addrs.Addr{Campaign: "black_friday", Message: message, Key: key})
		return ok && s.Outcome == state.OutcomeAccepted
	}
	branches := map[string]int{}
	for offer := range st.Sends(addrs.Pattern{Campaign: "black_friday", Message: "offer"}) {
		key := offer.Addr.Key
		ask, _ := st.Get(addrs.Addr{Campaign: "black_friday", Message: "ask", Key: key})
		if ask.Outcome != state.OutcomeAccepted {
			t.Fatalf("%s: ask was not sent: %+v", key, ask)
		}
		answer := "silent"
		if ask.Reply != nil {
			answer = ask.Reply.ID
		}
		branches[answer]++
		code, nudge := accepted("code", key), accepted("nudge", key)
		switch {
		case answer == "yes" && (!code || nudge),
			answer == "no" && (code || nudge),
			answer == "silent" && (code || !nudge):
			t.Errorf("%s answered %s: code sent %v, nudge sent %v", key, answer, code, nudge)
		}
		if n := stats.ByRecipient[offer.Phone]; n > 3 {
			t.Errorf("%s got %d messages", key, n)
		}
	}
	if branches["yes"] == 0 || branches["no"] == 0 || branches["silent"] == 0 {
		t.Fatalf("the rehearsal did not exercise every branch: %v", branches)
	}
	if n := stats.ByRecipient["255688123456"]; n != 0 {
		t.Errorf("the suppressed customer got %d messages", n)
	}

	// The silent never answered: their code expired with the 24h window.
	// Windows the provider reports again unchanged are not recorded again
	// (the state keeps times to the millisecond; the provider need not).
	if out := w.mustRun(exitOK, "refresh", "-sandbox"); strings.Contains(out, "conversation windows changed") {
		t.Errorf("a refresh right after the rehearsal recorded windows again:\n%s", out)
	}

	out = w.mustRun(exitOK, "plan", "-sandbox", "-json")
	var doc plan.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, s := range doc.Sends {
		if strings.Contains(s.Address, "message.code") && s.Class == "expired" && strings.Contains(s.Reason, "24h window") {
			expired++
		}
	}
	if expired != branches["silent"] {
		t.Errorf("%d codes expired with the window, want one per silent customer (%d)", expired, branches["silent"])
	}
	// show prints the funnel the README shows, every message in the
	// configuration's order, the branches not taken included.
	out = w.mustRun(exitOK, "show", "-sandbox")
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```\n"+out+"```\n") {
		t.Errorf("the README's funnel is not what show prints:\n%s", out)
	}
	t.Logf("branches %v, %d messages accepted", branches, stats.Accepted)
}
