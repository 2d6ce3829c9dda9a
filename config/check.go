package config

import (
	"runtime"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/ujumbe/ujumbe/addrs"
	"github.com/zclconf/go-cty/cty"
)

// Check renders every message of every campaign for every recipient, with
// reply unknown in follow-ups, and evaluates per-recipient time zones: what
// `ujumbe validate` needs beyond Load to promise that no send will fail on
// its content. Messages whose content depends on no recipient were checked
// by Load already. For each message the first few recipients with problems
// are reported in full, the rest counted.
func (c *Config) Check() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, camp := range c.Campaigns {
		if camp.Recipients == nil {
			continue
		}
		rs := camp.Recipients.Recipients
		if w := camp.Window; w != nil && w.loc == nil && w.zone != nil && !w.zone.broken {
			diags = append(diags, checkEach(rs, w.zone.Range(), "the send_window of "+addrs.Pattern{Campaign: camp.Name}.String(),
				func(r *Recipient) hcl.Diagnostics {
					_, d := w.Location(r)
					return d
				})...)
		}
		for _, m := range camp.Messages {
			if m.checked || m.roots&^(rootReply|rootVariant) == 0 {
				// Problems were reported by Load, or the content is the
				// same for everyone (of a variant) and Load checked it.
				continue
			}
			variants := m.variantValues()
			// A when that reads nothing but the answer and the variant
			// has the same problems for every recipient: with none for
			// the first, the others are not checked again.
			whenOK := map[string]bool{}
			if w := m.when; w != nil && w.roots&^(rootReply|rootVariant) == 0 && len(rs) > 0 {
				for _, v := range variants {
					_, _, wd := m.scope(rs[0], cty.UnknownVal(replyType), v).bool(w, "when")
					whenOK[v] = len(wd) == 0
				}
			}
			diags = append(diags, checkEach(rs, m.DeclRange, m.Addr().String(), func(r *Recipient) hcl.Diagnostics {
				var d hcl.Diagnostics
				for _, v := range variants {
					// Content that ContentSum sums and checks has no
					// problem to report, and is not rendered: an
					// interactive message took 30 µs a recipient that way.
					_, checked, ok := m.ContentSum(r, v)
					renders, whens := !ok || !checked, m.when != nil && !whenOK[v]
					if !renders && !whens {
						continue
					}
					s := m.scope(r, cty.UnknownVal(replyType), v)
					if renders {
						c, _ := m.contentFor(v)
						_, cd := c.render(s)
						d = append(d, cd...)
					}
					if whens {
						_, _, wd := s.bool(m.when, "when")
						d = append(d, wd...)
					}
					if d.HasErrors() {
						break
					}
				}
				return d
			})...)
		}
	}
	return diags
}

// checkEach runs fn for every recipient, spread over the CPUs, and returns
// the diagnostics of the first MaxListed recipients with problems in CSV
// order, plus a count of the others at subject.
func checkEach(rs []*Recipient, subject hcl.Range, what string, fn func(*Recipient) hcl.Diagnostics) hcl.Diagnostics {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(rs)/1024))
	parts := make([]RowDiags, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range rs[w*len(rs)/workers : (w+1)*len(rs)/workers] {
				if d := fn(r); d.HasErrors() {
					parts[w].Add(d)
				}
			}
		}()
	}
	wg.Wait()
	var all RowDiags
	for i := range parts {
		all.Merge(&parts[i])
	}
	return all.ForRecipients(subject, what)
}
