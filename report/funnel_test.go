package report

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestBuildCountsEveryFate: every send of the fixture is counted once, in
// configuration order, each fate where it belongs — a STOP as an opt-out,
// suppressions and opt-outs as suppressed, branches not taken and expired
// sends under messages nothing was sent for.
func TestBuildCountsEveryFate(t *testing.T) {
	r := fixtureReport(t)
	type row struct {
		Address                             string
		InConfiguration                     bool
		Recipients, Sent, Delivered, Read   int
		Replied, TextReplies, OptOuts       int
		Answers                             []Answer
		Failed                              int
		Failures                            []Tally
		Expired, NotTaken, AfterLost        int
		Suppressed                          int
		SuppressedBy                        []Tally
		Scheduled, Retry, Unknown, Orphaned int
	}
	var got []row
	for _, c := range r.Campaigns {
		for _, m := range c.Messages {
			got = append(got, row{m.Address, m.InConfiguration, m.Recipients, m.Sent, m.Delivered, m.Read,
				m.Replied, m.TextReplies, m.OptOuts, m.Answers, m.Failed, m.Failures,
				m.Expired, m.NotTaken, m.AfterLost, m.Suppressed, m.SuppressedBy, m.Scheduled, m.Retry, m.Unknown, m.Orphaned})
		}
	}
	const p = "campaign.black_friday.message."
	byOptouts := Tally{"suppress.optouts", 1}
	want := []row{
		{Address: p + "offer", InConfiguration: true, Recipients: 11, Sent: 8, Delivered: 7, Read: 5,
			Failed: 2, Failures: []Tally{{"131026", 1}, {"131049", 1}},
			Suppressed: 1, SuppressedBy: []Tally{byOptouts}, Retry: 1, Orphaned: 1},
		{Address: p + "ask", InConfiguration: true, Recipients: 10, Sent: 5, Delivered: 5, Read: 4,
			Replied: 3, TextReplies: 1, OptOuts: 1, Answers: []Answer{{"no", "No thanks", 1}, {"yes", "Yes please", 1}},
			Expired: 1, AfterLost: 1, Suppressed: 1, SuppressedBy: []Tally{byOptouts}, Scheduled: 1, Unknown: 1},
		{Address: p + "code", InConfiguration: true, Recipients: 10, Sent: 1, Delivered: 1,
			NotTaken: 3, AfterLost: 2, Suppressed: 2, SuppressedBy: []Tally{{"opted out", 1}, byOptouts}, Scheduled: 2},
		{Address: p + "nudge", InConfiguration: true, Recipients: 10, Sent: 1, Delivered: 1, Read: 1,
			NotTaken: 3, AfterLost: 2, Suppressed: 2, SuppressedBy: []Tally{{"opted out", 1}, byOptouts}, Scheduled: 2},
		{Address: p + "teaser", Recipients: 1, Sent: 1, Delivered: 1, Read: 1, Orphaned: 1},
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("funnels (-want +got):\n%s", d)
	}
	if r.OptOuts != 1 {
		t.Errorf("OptOuts = %d, want 1", r.OptOuts)
	}
	for _, m := range r.Campaigns[0].Messages {
		outcomes := m.Sent + m.Expired + m.NotTaken + m.AfterLost + m.Suppressed + m.Scheduled + m.Retry + m.Unknown
		for _, f := range m.Failures {
			if f.Name == "131026" { // the one refused rather than accepted
				outcomes += f.Count
			}
		}
		if outcomes != m.Recipients {
			t.Errorf("%s: outcomes add up to %d, want %d recipients", m.Address, outcomes, m.Recipients)
		}
	}
}

// TestBuildDescribesMessages: kinds, templates, after, delay and when as
// written, and the campaign's time zone.
func TestBuildDescribesMessages(t *testing.T) {
	r := fixtureReport(t)
	c := r.Campaigns[0]
	if c.TimeZone != "Africa/Dar_es_Salaam" || !c.InConfiguration {
		t.Errorf("campaign %s: zone %q, in configuration %v", c.Name, c.TimeZone, c.InConfiguration)
	}
	type desc struct{ Name, Kind, Template, After, Delay, When string }
	var got []desc
	for _, m := range c.Messages {
		got = append(got, desc{m.Name, m.Kind, m.Template, m.After, m.Delay, m.When})
	}
	want := []desc{
		{"offer", "template", "bf_offer_2026", "", "", ""},
		{"ask", "interactive", "", "offer", "10m", ""},
		{"code", "text", "", "ask", "", `reply.id == "yes"`},
		{"nudge", "text", "", "ask", "4h", "reply == null"},
		{"teaser", "", "", "", "", ""},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}

// TestTimelineSumsToFunnel: the timeline, per hour in the campaign's zone,
// adds up to Sent and Replied of every message.
func TestTimelineSumsToFunnel(t *testing.T) {
	r := fixtureReport(t)
	c := r.Campaigns[0]
	tl := c.Timeline
	dar := time.FixedZone("EAT", 3*3600)
	if want := time.Date(2026, 11, 26, 15, 0, 0, 0, dar); !tl.Start.Equal(want) || tl.Step != time.Hour {
		t.Errorf("timeline starts %v by %v, want %v by 1h", tl.Start, tl.Step, want)
	}
	if tl.Bins != 23 {
		t.Errorf("%d bins, want 23 (15:00 to 13:00 the next day)", tl.Bins)
	}
	for i, m := range c.Messages {
		s := tl.Series[i]
		sum := func(xs []int) int {
			n := 0
			for _, x := range xs {
				n += x
			}
			return n
		}
		if s.Message != m.Name || sum(s.Sends) != m.Sent || sum(s.Replies) != m.Replied {
			t.Errorf("%s: timeline has %d sends and %d replies, want %d and %d", m.Address, sum(s.Sends), sum(s.Replies), m.Sent, m.Replied)
		}
	}
}

func TestFormatDelay(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Minute:             "10m",
		4 * time.Hour:                "4h",
		90 * time.Minute:             "1h30m",
		36 * time.Hour:               "1d12h",
		48 * time.Hour:               "2d",
		time.Minute + 30*time.Second: "1m30s",
		1500 * time.Millisecond:      "1s500ms",
	} {
		if got := FormatDelay(d); got != want {
			t.Errorf("FormatDelay(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestBuildOptOutByMessageID: a reply is an opt-out when it is the message
// the state's opt-out came with, even if the opt-out keywords no longer
// include its text. Build reads sends without their ids, so this needs the
// reply's message id looked up again.
func TestBuildOptOutByMessageID(t *testing.T) {
	cfg := loadExample(t, "follow-ups")
	cfg.Provider.OptOutKeywords = []string{"UNSUBSCRIBE"}
	r, diags := Build(cfg, fixtureState(t), Options{Now: fixtureNow})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ask := r.Campaigns[0].Messages[1]
	if ask.Name != "ask" || ask.OptOuts != 1 || ask.Replied != 3 || ask.TextReplies != 1 {
		t.Errorf("%s: %d opt-outs, %d replied, %d text replies; want 1, 3 and 1 (C-2003's STOP is the opt-out's message)",
			ask.Address, ask.OptOuts, ask.Replied, ask.TextReplies)
	}
}
