package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDataFileRestart: a sandbox started again on its data file has the
// same conversations, messages, answers, clock and stats.
func TestDataFileRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.data")
	opts := Options{DataFile: path, Silent: new(0.0)}
	h := newHarness(t, opts)
	tmpl := h.template("255712000001")
	h.advance(time.Minute)
	q := h.ask("255712000001")
	h.advance(5 * time.Minute)
	before := struct {
		stats Stats
		q     detail
		list  itemPage
		convs []convItem
	}{h.s.Stats(), h.message(q.MessageID), h.list(""), nil}
	before.convs, _ = h.conversations("")
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("data file: %v %v", info, err)
	}

	h2 := newHarness(t, opts)
	if !h2.s.Now().Equal(t0.Add(6 * time.Minute)) {
		t.Errorf("clock after restart = %v, want %v", h2.s.Now(), t0.Add(6*time.Minute))
	}
	after := h2.s.Stats()
	// Traffic counters are per process; the stored messages are not.
	for _, st := range []*Stats{&before.stats, &after} {
		st.Requests, st.Sends, st.Rejected = 0, 0, nil
	}
	if diff := cmp.Diff(before.stats, after); diff != "" {
		t.Errorf("stats after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before.q, h2.message(q.MessageID)); diff != "" {
		t.Errorf("message after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before.list, h2.list("")); diff != "" {
		t.Errorf("list after restart (-before +after):\n%s", diff)
	}
	convs, _ := h2.conversations("")
	if diff := cmp.Diff(before.convs, convs); diff != "" {
		t.Errorf("conversations after restart (-before +after):\n%s", diff)
	}
	// The window and the conversation carry on.
	if m := h2.send(`{"type":"text","to":"255712000001","body":"Thanks"}`); m.ConversationID != tmpl.ConversationID {
		t.Errorf("text after restart went to %s, want %s", m.ConversationID, tmpl.ConversationID)
	}
}

// TestDataFileTornLine: a last line cut short by a crash is dropped, and
// later writes follow the intact content.
func TestDataFileTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.data")
	h := newHarness(t, Options{DataFile: path})
	h.template("255712000001")
	h.s.Close()
	intact, _ := os.ReadFile(path)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"op":"message","message":{"id":"3f`)
	f.Close()

	h2 := newHarness(t, Options{DataFile: path})
	if got, _ := os.ReadFile(path); string(got) != string(intact) {
		t.Errorf("torn line kept:\n%s", got)
	}
	h2.template("255712000002")
	h2.s.Close()
	h3 := newHarness(t, Options{DataFile: path})
	if st := h3.s.Stats(); st.Accepted != 2 {
		t.Errorf("accepted after two restarts = %d, want 2", st.Accepted)
	}
}

// TestDataFileErrors: damage other than a torn tail, a foreign file and a
// second user are errors naming the file.
func TestDataFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	header := `{"format":"ujumbe-sandbox-data","version":1}` + "\n"
	for _, tt := range []struct {
		name, content, want string
	}{
		{"foreign", "hello\n", "not a sandbox data file"},
		{"newer", `{"format":"ujumbe-sandbox-data","version":2}` + "\n", "not a sandbox data file"},
		{"damaged", header + "{oops}\n" + `{"op":"advance","by":1}` + "\n", "line 2"},
		{"unknown op", header + `{"op":"delete"}` + "\n", `malformed "delete" entry`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := write(tt.name, tt.content)
			_, err := New(Options{DataFile: p})
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error naming %s and saying %q", err, p, tt.want)
			}
		})
	}
	t.Run("in use", func(t *testing.T) {
		p := filepath.Join(dir, "shared.data")
		s, err := New(Options{DataFile: p})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := New(Options{DataFile: p}); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Errorf("second New on one data file = %v, want in use", err)
		}
	})
}

// TestReset empties the store, the counters and the data file.
func TestReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.data")
	h := newHarness(t, Options{DataFile: path})
	h.template("255712000001")
	h.advance(time.Hour)
	if r := h.do("POST", "/_sandbox/reset", ""); r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	want := Stats{Now: t0.Add(time.Hour), Rejected: map[string]int64{}, ByRecipient: map[string]int{}, ByKind: map[string]int{}, Duplicates: []Duplicate{}, Messages: []Message{}}
	if diff := cmp.Diff(want, h.s.Stats()); diff != "" {
		t.Errorf("stats after reset (-want +got):\n%s", diff)
	}
	if p := h.list(""); p.Total != 0 {
		t.Errorf("messages after reset: %+v", p)
	}
	h.s.Close()
	h2 := newHarness(t, Options{DataFile: path})
	if st := h2.s.Stats(); st.Accepted != 0 || !st.Now.Equal(t0.Add(time.Hour)) {
		t.Errorf("after reset and restart: accepted %d at %v, want 0 at %v", st.Accepted, st.Now, t0.Add(time.Hour))
	}
}

// TestStartClock: a new sandbox whose Start has passed begins its clock
// there and runs on from it; a later start is ignored; a sandbox started
// again on its data file, or reset, keeps the clock it had.
func TestStartClock(t *testing.T) {
	start := t0.Add(-30 * 24 * time.Hour)
	wall := t0
	clock := func() time.Time { return wall }

	if s := newHarness(t, Options{Now: clock, Start: t0.Add(time.Hour)}).s; !s.Now().Equal(t0) {
		t.Errorf("a start still to come moved the clock to %v, want now (%v)", s.Now(), t0)
	}

	path := filepath.Join(t.TempDir(), "sandbox.data")
	h := newHarness(t, Options{Now: clock, Start: start, DataFile: path})
	if !h.s.Now().Equal(start) {
		t.Fatalf("new sandbox clock %v, want the start %v", h.s.Now(), start)
	}
	m := h.template("255712000001")
	h.advance(2 * time.Hour)
	wall = wall.Add(time.Minute)
	want := start.Add(2*time.Hour + time.Minute)
	if !h.s.Now().Equal(want) {
		t.Fatalf("clock %v after 2h of advance and 1m of wall time, want %v", h.s.Now(), want)
	}
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}

	// Started again with another Start: the clock and the message stay.
	h2 := newHarness(t, Options{Now: clock, Start: start.Add(-time.Hour), DataFile: path})
	if !h2.s.Now().Equal(want) {
		t.Errorf("restarted clock %v, want %v", h2.s.Now(), want)
	}
	if got := h2.message(m.MessageID); got.Status != "read" {
		t.Errorf("message after restart: status %q, want read", got.Status)
	}
	if err := h2.s.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := h2.s.Close(); err != nil {
		t.Fatal(err)
	}
	h3 := newHarness(t, Options{Now: clock, Start: start.Add(-time.Hour), DataFile: path})
	if !h3.s.Now().Equal(want) {
		t.Errorf("clock after reset and restart %v, want %v", h3.s.Now(), want)
	}
}
