package sandbox

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// phone returns the i-th test recipient.
func phone(i int) string { return fmt.Sprintf("2557%08d", i) }

// answers opens a window with n recipients, asks each the buttons, lets
// every answer arrive and returns each recipient's answer (nil: none).
func answers(t *testing.T, opts Options, n int) []*item {
	h := newHarness(t, opts)
	ids := make([]string, n)
	for i := range n {
		h.template(phone(i))
		ids[i] = h.ask(phone(i)).MessageID
	}
	h.advance(h.s.cfg.ReplyDelay.Max)
	out := make([]*item, n)
	for i, id := range ids {
		out[i] = h.message(id).Reply
		if out[i] != nil {
			// Ids are random; what is compared across runs is the rest.
			out[i].ID, out[i].ConversationID, out[i].PairedMessageID, out[i].MessageID = "", "", nil, nil
		}
	}
	return out
}

// choice is the button id of an answer, "" for none.
func choice(t *testing.T, a *item) string {
	if a == nil {
		return ""
	}
	var c struct {
		ButtonReply struct {
			ID string `json:"id"`
		} `json:"button_reply"`
	}
	if err := json.Unmarshal(a.Content, &c); err != nil {
		t.Fatal(err)
	}
	return c.ButtonReply.ID
}

// TestReplyDeterminism: the same seed, recipients and content give the same
// answers at the same times; another seed gives others.
func TestReplyDeterminism(t *testing.T) {
	a := answers(t, Options{Seed: 7}, 40)
	b := answers(t, Options{Seed: 7}, 40)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two runs with one seed differ (-first +second):\n%s", diff)
	}
	c := answers(t, Options{Seed: 8}, 40)
	if cmp.Equal(a, c) {
		t.Error("seeds 7 and 8 gave identical answers")
	}
}

// TestReplyShape: an answer is an inbound interactive message in WhatsApp
// Cloud API's shape, paired to the question, visible in the list and as
// reply only once the clock reaches it, within the configured delay.
func TestReplyShape(t *testing.T) {
	list := `{"type":"list","body":{"text":"Pick a size"},"action":{"button":"Sizes","sections":[{"title":"All","rows":[` +
		`{"id":"s","title":"Small","description":"Fits 1"},{"id":"l","title":"Large","description":"Fits 4"}]}]}}`
	for _, tt := range []struct {
		name        string
		g2          bool // send through POST /v1/whatsapp/messages
		interactive string
		answers     map[string]float64
		want        string
	}{
		{"button", false, buttons, map[string]float64{"later": 1}, `{"button_reply":{"id":"later","title":"Later"},"type":"button_reply"}`},
		{"list", false, list, map[string]float64{"l": 1}, `{"list_reply":{"description":"Fits 4","id":"l","title":"Large"},"type":"list_reply"}`},
		{"button through G2", true, buttons, map[string]float64{"no": 1}, `{"button_reply":{"id":"no","title":"No"},"type":"button_reply"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Silent: new(0.0), Answers: tt.answers, ReplyDelay: ReplyDelay{Min: 2 * time.Minute, Max: 3 * time.Minute}})
			h.template("255712000001")
			var q sent
			if tt.g2 {
				q = h.send(`{"type":"interactive","to":"255712000001","interactive":` + tt.interactive + `}`)
			} else {
				q = h.sendTo("/v1/whatsapp/messages/interactive", `{"to":"255712000001","interactive":`+tt.interactive+`}`)
			}
			h.advance(2*time.Minute - time.Second)
			if r := h.message(q.MessageID).Reply; r != nil {
				t.Fatalf("answer before the minimum delay: %+v", r)
			}
			if p := h.list("direction=inbound"); p.Total != 0 {
				t.Fatalf("inbound list before the answer: %+v", p)
			}
			h.advance(time.Minute + time.Second)
			r := h.message(q.MessageID).Reply
			if r == nil {
				t.Fatal("no answer after the maximum delay")
			}
			if !sameJSON(t, r.Content, tt.want) || r.IsOutbound || r.MessageType != "interactive" || r.Status != "received" ||
				r.PairedMessageID == nil || *r.PairedMessageID != q.MessageID || r.ConversationID != q.ConversationID ||
				r.MessageID == nil || r.CreatedAt.Before(t0.Add(2*time.Minute)) || r.CreatedAt.After(t0.Add(3*time.Minute)) {
				t.Errorf("answer = %+v content %s", r, r.Content)
			}
			p := h.list("direction=inbound&conversation_id=" + q.ConversationID)
			if len(p.Items) != 1 || p.Items[0].ID != r.ID {
				t.Errorf("inbound list = %+v, want the answer", p)
			}
			if d := h.message(r.ID); d.Reply != nil || d.IsOutbound {
				t.Errorf("GET of the answer itself = %+v", d)
			}
		})
	}
}

// TestReplyWeights: choices follow Answers; unlisted options are never
// picked; with no positive weight nobody answers; Silent recipients never
// answer.
func TestReplyWeights(t *testing.T) {
	const n = 400
	count := func(as []*item) map[string]int {
		m := map[string]int{}
		for _, a := range as {
			m[choice(t, a)]++
		}
		return m
	}
	// Shares are checked with wide bounds: the draws are fixed by the
	// seed, so these tests cannot flake, and any sane hash passes them.
	near := func(got, want int) bool { return got >= want-n/10 && got <= want+n/10 }

	uniform := count(answers(t, Options{}, n)) // default Silent 0.2
	if !near(uniform[""], n/5) || !near(uniform["yes"], n*4/15) || !near(uniform["no"], n*4/15) || !near(uniform["later"], n*4/15) {
		t.Errorf("default weights and silence: %v", uniform)
	}
	weighted := count(answers(t, Options{Silent: new(0.0), Answers: map[string]float64{"yes": 3, "no": 1}}, n))
	if weighted[""] != 0 || weighted["later"] != 0 || !near(weighted["yes"], n*3/4) || weighted["yes"]+weighted["no"] != n {
		t.Errorf("weights yes=3 no=1: %v", weighted)
	}
	none := count(answers(t, Options{Silent: new(0.0), Answers: map[string]float64{"maybe": 1}}, 20))
	if none[""] != 20 {
		t.Errorf("no listed option: %v, want no answers", none)
	}
	silent := count(answers(t, Options{Silent: new(1.0)}, 20))
	if silent[""] != 20 {
		t.Errorf("silent 1: %v, want no answers", silent)
	}
}

// TestOptOut: OptOut recipients answer templates with "STOP", a text that
// also opens the window.
func TestOptOut(t *testing.T) {
	h := newHarness(t, Options{Silent: new(0.0), OptOut: 1})
	m := h.template("255712000001")
	h.advance(10 * time.Minute)
	r := h.message(m.MessageID).Reply
	if r == nil || r.MessageType != "text" || string(r.Content) != `{"body":"STOP"}` || *r.PairedMessageID != m.MessageID {
		t.Fatalf("answer to a template = %+v", r)
	}
	items, _ := h.conversations("")
	if !items[0].Window.ExpiresAt.Equal(r.CreatedAt.Add(24 * time.Hour)) {
		t.Errorf("window = %+v, want it refreshed by the STOP", items[0].Window)
	}

	h2 := newHarness(t, Options{Silent: new(0.0)})
	m2 := h2.template("255712000001")
	h2.advance(time.Hour)
	if r := h2.message(m2.MessageID).Reply; r != nil {
		t.Errorf("answer to a template without OptOut: %+v", r)
	}
}

// sameJSON reports whether got and want hold equal JSON values.
func sameJSON(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("decode %s: %v", want, err)
	}
	return cmp.Equal(g, w)
}
