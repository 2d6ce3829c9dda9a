package plan

import (
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

const inputsHCL = `
variable "sign" {
  type    = string
  default = "the team"
}
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
campaign "c" {
  recipients = recipients.r
  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name, "2" = var.sign }
  }
}
`

// TestDoneByInputs: a send recorded with the fingerprint of its inputs is
// done while they are the same, and drift when any changes (the row, a
// variable), as a send recorded with its content alone; a fingerprint of
// other inputs leaves the plan to compare content.
func TestDoneByInputs(t *testing.T) {
	load := func(csv string, vars ...string) *config.Config {
		return loadFiles(t, map[string]string{"main.hcl": inputsHCL, "r.csv": csv}, config.LoadOptions{Vars: vars})
	}
	const csv = "phone,name\n+255700000001,Asha\n"
	sent := load(csv)
	m, r := sent.Campaigns[0].Messages[0], sent.Campaigns[0].Recipients.Recipients[0]
	p, diags := m.Render(r, nil, "")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	inputs, ok := m.InputSum(r, "")
	if !ok {
		t.Fatal("the message has no fingerprint")
	}
	a := addrs.Addr{Campaign: "c", Message: "hello", Key: r.Key}
	// record returns a state in which the send was accepted with digest d
	// and fingerprint in.
	record := func(d state.Digest, in uint64) *state.State {
		store := openStore(t)
		if err := store.RecordIntent(state.Intent{Addr: a, Phone: r.Phone, Digest: d, Inputs: in, At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: "m1", At: t0}); err != nil {
			t.Fatal(err)
		}
		return store.State()
	}
	class := func(cfg *config.Config, st *state.State) (Class, state.Digest) {
		t.Helper()
		p, diags := Build(cfg, st, now, Options{})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		for _, it := range p.Items {
			if it.Addr() == a {
				return it.Class, it.Digest
			}
		}
		t.Fatalf("no item for %s", a)
		return 0, state.Digest{}
	}
	digest := ContentDigest(p)
	withInputs := record(digest, inputs)
	for name, c := range map[string]struct {
		cfg  *config.Config
		st   *state.State
		want Class
	}{
		"the same inputs":                 {sent, withInputs, Done},
		"a fingerprint of other inputs":   {sent, record(digest, inputs^1), Done},
		"no fingerprint":                  {sent, record(digest, 0), Done},
		"another name in the row":         {load(strings.Replace(csv, "Asha", "Asia", 1)), withInputs, Drift},
		"another value of a variable":     {load(csv, "sign=us"), withInputs, Drift},
		"the row changed, no fingerprint": {load(strings.Replace(csv, "Asha", "Asia", 1)), record(digest, 0), Drift},
		"the same inputs, loaded anew":    {load(csv), withInputs, Done},
		"a variable set to what it was":   {load(csv, "sign=the team"), withInputs, Done},
	} {
		if got, d := class(c.cfg, c.st); got != c.want || (got == Done && d != digest) {
			t.Errorf("%s: %s with digest %s, want %s with %s", name, got, d, c.want, digest)
		}
	}
	// Equal fingerprints are taken for equal content: a send whose
	// recorded digest is not the content's, but whose inputs are, is done
	// without the content being made. (No send is recorded that way: the
	// intent takes both from one plan.)
	if got, d := class(sent, record(state.Digest{1}, inputs)); got != Done || d != (state.Digest{1}) {
		t.Errorf("a matching fingerprint: %s with digest %s, want done with the recorded digest", got, d)
	}
}
