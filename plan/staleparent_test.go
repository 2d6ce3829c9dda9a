package plan

import (
	"runtime"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// TestNoStaleParent: a recipient whose parent send is not recorded does
// not see the previous recipient's parent (its answer) when its own
// accepted follow-up is checked for drift: the worker reads each send in
// place, in a link the previous recipient's lookup filled (one worker, so
// that the two recipients share it).
func TestNoStaleParent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cfg := loadFiles(t, map[string]string{
		"people.csv": "id,name,phone\np1,Asha,255712000001\np2,Baraka,255712000002\n",
		"main.hcl": `
recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}
campaign "promo" {
  recipients = recipients.people
  message "ask" {
    template  = "ask"
    variables = { "1" = row.name }
  }
  message "echo" {
    after = message.ask
    text  = "You said ${reply == null ? "nothing" : reply.title}"
  }
}
`,
	}, config.LoadOptions{})
	c := cfg.Campaigns[0]
	ask, echo, rs := c.Messages[0], c.Messages[1], c.Recipients.Recipients
	store := openStore(t)
	send := func(m *config.Message, r *config.Recipient, reply *config.Reply) {
		recordAccepted(t, store, m, r, reply, t0)
	}
	send(ask, rs[0], nil)
	if err := store.Refresh(state.Update{Addr: addrs.Addr{Campaign: "promo", Message: "ask", Key: "p1"},
		Reply: &state.Reply{ID: "yes", Title: "Yes", At: t0.Add(time.Minute), MessageID: "in"}, At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	send(echo, rs[0], &config.Reply{ID: "yes", Title: "Yes", At: t0.Add(time.Minute)})
	// p2: its ask is not in the state (removed, say); its echo went out
	// with no answer.
	send(echo, rs[1], nil)
	p, diags := Build(cfg, store.State(), t0.Add(time.Hour), Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for i := range p.Items {
		it := &p.Items[i]
		if it.Addr().Message == "echo" && it.Class != Done {
			t.Errorf("%s: %v (%s), want Done", it.Addr(), it.Class, it.Reason)
		}
	}
}
