package command

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/report"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// TestABTestRehearsal runs examples/ab-test as its README does: a
// rehearsal with -wait against the embedded sandbox, from the campaign's
// start_at. Then it asks the sandbox, over HTTP, what each recipient was
// sent: the template of the variant the campaign assigns them, a question
// worded for it, and nothing at all to the holdout. The report's figures
// per variant are those of the state.
func TestABTestRehearsal(t *testing.T) {
	dir := copyExample(t, "ab-test")
	w := &world{t: t, dir: dir}
	out := w.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait")
	if !strings.Contains(out, "Nothing more is scheduled.") {
		t.Fatalf("apply -wait did not finish the campaign:\n%s", out)
	}

	cfg, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	camp := cfg.Campaigns[0]
	rehearsal := filepath.Join(dir, rehearsalDir)
	st, _, err := state.Read(filepath.Join(rehearsal, defaultStateName))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.New(sandbox.Options{DataFile: filepath.Join(rehearsal, "sandbox.data"), APIKey: "test-key"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stats := srv.Stats()
	if len(stats.Duplicates) > 0 {
		t.Fatalf("duplicates: %+v", stats.Duplicates)
	}
	// content returns what the sandbox received for the send s.
	content := func(s state.Send) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", url+"/v1/whatsapp/messages/"+s.MessageID, nil)
		req.Header.Set("X-API-Key", "test-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			Data struct {
				Content map[string]any `json:"content"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET message %s: %d, %v", s.MessageID, resp.StatusCode, err)
		}
		return env.Data.Content
	}

	type funnel struct{ recipients, sent, replied int }
	want := map[string]*funnel{"short": {}, "long": {}}
	held := 0
	for _, r := range camp.Recipients.Recipients {
		offerAt := addrs.Addr{Campaign: camp.Name, Message: "offer", Key: r.Key}
		offer, sent := st.Get(offerAt)
		if camp.HeldOut(r.Key) {
			held++
			if sent || stats.ByRecipient[r.Phone] != 0 {
				t.Errorf("%s is in the holdout but got %d messages", r.Key, stats.ByRecipient[r.Phone])
			}
			continue
		}
		variant := camp.Assign(r.Key)
		f := want[variant]
		f.recipients++
		if !sent || offer.Outcome != state.OutcomeAccepted || offer.Variant != variant {
			t.Fatalf("%s: offer %+v, want accepted with variant %s", r.Key, offer, variant)
		}
		// The intent recorded what the content was made from, so that
		// plans know it unchanged without making it again.
		if in, ok := camp.Messages[0].InputSum(r, variant); !ok || offer.Inputs != in {
			t.Errorf("%s: offer recorded inputs %x, want %x (%v)", r.Key, offer.Inputs, in, ok)
		}
		f.sent++
		if got := content(offer)["template_name"]; got != "spring_offer_"+variant {
			t.Errorf("%s (variant %s) was sent template %v", r.Key, variant, got)
		}
		ask, _ := st.Get(addrs.Addr{Campaign: camp.Name, Message: "ask", Key: r.Key})
		if ask.Outcome != state.OutcomeAccepted || ask.Variant != variant {
			t.Fatalf("%s: ask %+v, want accepted with variant %s", r.Key, ask, variant)
		}
		body, _ := json.Marshal(content(ask)["body"])
		question := map[string]string{"short": "Want the code, ", "long": "Want your 20% code, "}[variant]
		if !strings.Contains(string(body), question) {
			t.Errorf("%s (variant %s) was asked %s", r.Key, variant, body)
		}
		if ask.Reply != nil {
			f.replied++
		}
	}
	// The sandbox holds the data file; show starts its own on it.
	srv.Close()
	if held == 0 || want["short"].sent == 0 || want["long"].sent == 0 {
		t.Fatalf("the rehearsal should have some of each: holdout %d, %+v %+v", held, *want["short"], *want["long"])
	}

	// show -json: the ask message's funnel per variant, its holdout and the
	// comparison are the state's.
	var rep report.Report
	if err := json.Unmarshal([]byte(w.mustRun(exitOK, "show", "-sandbox", "-json")), &rep); err != nil {
		t.Fatal(err)
	}
	var ask *report.Message
	for _, m := range rep.Campaigns[0].Messages {
		if m.Name == "ask" {
			ask = m
		}
	}
	if ask == nil || ask.Holdout != held || len(ask.Variants) != 2 || ask.Comparison == nil {
		t.Fatalf("show -json, message ask: %+v", ask)
	}
	for _, v := range ask.Variants {
		f := want[v.Name]
		if v.Recipients != f.recipients || v.Sent != f.sent || v.Replied != f.replied {
			t.Errorf("variant %s: %d recipients, %d sent, %d replied; the state has %+v", v.Name, v.Recipients, v.Sent, v.Replied, *f)
		}
		if rate := float64(f.replied) / float64(f.sent); v.ReplyRate != rate {
			t.Errorf("variant %s: reply rate %v, want %v", v.Name, v.ReplyRate, rate)
		}
	}
	low, high := report.Newcombe(want["short"].replied, want["short"].sent, want["long"].replied, want["long"].sent)
	if c := ask.Comparison; c.A != "short" || c.B != "long" || c.Low != low || c.High != high {
		t.Errorf("comparison %+v, want short − long in [%v, %v]", c, low, high)
	}

	// report -variants writes the same figures as CSV.
	csv := w.mustRun(exitOK, "report", "-sandbox", "-variants=-")
	for name, f := range want {
		row := fmt.Sprintf("\nspring_sale,ask,%s,%d,%d,", name, f.recipients, f.sent)
		if !strings.Contains(csv, row) {
			t.Errorf("report -variants lacks %q:\n%s", row, csv)
		}
	}
	if row := fmt.Sprintf("\nspring_sale,ask,holdout,%d,0,", held); !strings.Contains(csv, row) {
		t.Errorf("report -variants lacks %q:\n%s", row, csv)
	}

	// report -csv has a row for every recipient of every message, the
	// holdout's too, which a spreadsheet compares with the others.
	rows := strings.Split(strings.TrimSpace(w.mustRun(exitOK, "report", "-sandbox", "-csv=-")), "\n")[1:]
	if want := len(camp.Recipients.Recipients) * len(camp.Messages); len(rows) != want {
		t.Errorf("report -csv has %d rows, want %d (every recipient and message)", len(rows), want)
	}
	heldRows := 0
	for _, r := range camp.Recipients.Recipients {
		if camp.HeldOut(r.Key) && strings.Contains("\n"+strings.Join(rows, "\n")+"\n", fmt.Sprintf("\n%s,%s,spring_sale,offer,,holdout,", r.Key, r.Phone)) {
			heldRows++
		}
	}
	if heldRows != held {
		t.Errorf("report -csv has %d holdout rows for offer, want the %d held out", heldRows, held)
	}

	// And the HTML report, in the ask message's card.
	page := w.mustRun(exitOK, "report", "-sandbox", "-html=-")
	card := page[strings.Index(page, `data-address="campaign.spring_sale.message.ask"`):]
	card = card[:strings.Index(card, "</article>")]
	for name, f := range want {
		for field, n := range map[string]int{"sent": f.sent, "replied": f.replied} {
			if cell := fmt.Sprintf(`data-field="variant.%s.%s">%d<`, name, field, n); !strings.Contains(card, cell) {
				t.Errorf("the HTML report's ask card lacks %s", cell)
			}
		}
	}
	if cell := fmt.Sprintf(`data-field="holdout">%d<`, held); !strings.Contains(card, cell) {
		t.Errorf("the HTML report's ask card lacks %s", cell)
	}
	if !strings.Contains(card, `data-field="comparison">reply rate short − long: `) {
		t.Errorf("the HTML report's ask card has no comparison:\n%s", card)
	}
}
