package report

import (
	"context"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/internal/goldenfile"
	"github.com/ujumbe/ujumbe/state"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtureNow is the clock of the fixture's report: the morning after the
// offer went out, when the 24h window it opened has closed.
var fixtureNow = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// loadExample loads examples/NAME.
func loadExample(t *testing.T, name string) *config.Config {
	t.Helper()
	return loadDir(t, filepath.Join("..", "examples", name))
}

// fixtureState records, for examples/follow-ups, one recipient per fate: a
// "yes" who got the code, a "no", a STOP, a refused offer, an offer the
// provider later reported failed, a free-text answer, an unknown ask, an
// offer to retry, a silent customer who got the nudge, a recipient since
// removed from the CSV, and a send of a message the configuration no
// longer has.
func fixtureState(t *testing.T) *state.State {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ujumbe.state")
	st, _, err := state.Open(context.Background(), path, state.Options{Operation: "test", Now: func() time.Time { return fixtureNow }})
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, time.UTC) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	send := func(message, key, phone string, when time.Time, outcome state.Outcome, status state.ProviderStatus, code string) addrs.Addr {
		t.Helper()
		n++
		a := addrs.Addr{Campaign: "black_friday", Message: message, Key: key}
		must(st.RecordIntent(state.Intent{Addr: a, Phone: phone, At: when}))
		if outcome == state.OutcomeUnknown {
			return a
		}
		r := state.Result{Addr: a, Outcome: outcome, ErrorCode: code, At: when.Add(time.Second)}
		if outcome == state.OutcomeAccepted {
			r.MessageID = "m-" + key + "-" + message
			r.ConversationID = "c-" + key
			r.ProviderStatus = state.StatusSent
		}
		must(st.RecordResult(r))
		if status != state.StatusNone && status != state.StatusSent {
			must(st.Refresh(state.Update{Addr: a, ProviderStatus: status, ErrorCode: code, At: when.Add(time.Minute)}))
		}
		return a
	}
	reply := func(a addrs.Addr, r state.Reply) {
		t.Helper()
		must(st.Refresh(state.Update{Addr: a, Reply: &r, At: r.At}))
	}
	acc, read, delivered := state.OutcomeAccepted, state.StatusRead, state.StatusDelivered

	// C-2001 said yes and got the code.
	send("offer", "C-2001", "255712345678", at(27, 6, 0), acc, read, "")
	reply(send("ask", "C-2001", "255712345678", at(27, 6, 10), acc, read, ""),
		state.Reply{ID: "yes", Title: "Yes please", At: at(27, 6, 42), MessageID: "in-1"})
	send("code", "C-2001", "255712345678", at(27, 6, 45), acc, delivered, "")
	// C-2002 said no.
	send("offer", "C-2002", "255712345679", at(27, 6, 0), acc, read, "")
	reply(send("ask", "C-2002", "255712345679", at(27, 6, 10), acc, delivered, ""),
		state.Reply{ID: "no", Title: "No thanks", At: at(27, 7, 5), MessageID: "in-2"})
	// C-2003 answered STOP and opted out.
	send("offer", "C-2003", "255754123456", at(27, 6, 1), acc, delivered, "")
	reply(send("ask", "C-2003", "255754123456", at(27, 6, 11), acc, read, ""),
		state.Reply{Text: "STOP", At: at(27, 8, 30), MessageID: "in-3"})
	must(st.OptOut(state.OptOut{Phone: "255754123456", At: at(27, 8, 30), Text: "STOP", MessageID: "in-3"}))
	// C-2004's offer was refused for good: nothing follows it.
	send("offer", "C-2004", "255765432109", at(27, 6, 1), state.OutcomeFailed, state.StatusNone, "131026")
	// C-2005's offer was accepted, then reported failed; the ask expired
	// with the window.
	send("offer", "C-2005", "255784111222", at(27, 6, 2), acc, state.StatusFailed, "131049")
	// C-2007 answered with text.
	send("offer", "C-2007", "255622123456", at(27, 6, 2), acc, read, "")
	reply(send("ask", "C-2007", "255622123456", at(27, 6, 12), acc, read, ""),
		state.Reply{Text: "maybe later", At: at(27, 9, 15), MessageID: "in-7"})
	// C-2008's ask is unknown: the process died after its intent.
	send("offer", "C-2008", "255655123456", at(27, 6, 3), acc, read, "")
	send("ask", "C-2008", "255655123456", at(27, 6, 13), state.OutcomeUnknown, state.StatusNone, "")
	// C-2011's offer is to be retried.
	send("offer", "C-2011", "255745123456", at(27, 6, 3), state.OutcomeRetry, state.StatusNone, "429")
	// C-2012 never answered and got the nudge.
	send("offer", "C-2012", "255692123456", at(27, 6, 4), acc, read, "")
	send("ask", "C-2012", "255692123456", at(27, 6, 14), acc, read, "")
	send("nudge", "C-2012", "255692123456", at(27, 10, 14), acc, read, "")
	// C-1999 has since left the CSV; teaser has left the configuration.
	send("offer", "C-1999", "255711000000", at(27, 6, 5), acc, delivered, "")
	send("teaser", "C-2001", "255712345678", at(26, 12, 0), acc, read, "")

	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := state.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// fixtureReport is the report of examples/follow-ups and fixtureState at
// fixtureNow, with the state's random lineage replaced for golden files.
func fixtureReport(t *testing.T) *Report {
	t.Helper()
	cfg := loadExample(t, "follow-ups")
	r, diags := Build(cfg, fixtureState(t), Options{Now: fixtureNow, StatePath: "ujumbe.state"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	r.State.Lineage = "00000000-0000-4000-8000-000000000000"
	r.Configuration.Dir = "examples/follow-ups"
	return r
}

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}
