package plan

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/config"
)

// GuardOptions are the operator's explicit permissions for plans the
// guards would otherwise stop.
type GuardOptions struct {
	// AllowLarge permits a campaign to send more first contacts than its
	// max_recipients (-allow-large).
	AllowLarge bool `json:"allow_large,omitempty"`
	// AllowRekey permits first contacts to phones the state knows under
	// other keys (-allow-rekey).
	AllowRekey bool `json:"allow_rekey,omitempty"`
}

// Guard checks p against the limits no plan may cross by accident: a
// campaign sending more first contacts than max_recipients, and recipients
// whose key changed while their phone did not (a renamed key column makes
// everyone look new). Each is an error unless its GuardOptions permission
// is given, and then a warning.
func Guard(cfg *config.Config, p *Plan, o GuardOptions) hcl.Diagnostics {
	var diags hcl.Diagnostics
	first := map[string]int{}
	var rekeyed []*Item
	for i := range p.Items {
		it := &p.Items[i]
		if !it.Class.Sends() || it.Message == nil || it.Message.After != nil {
			continue
		}
		first[it.Addr.Campaign]++
		if it.RekeyedFrom != "" {
			rekeyed = append(rekeyed, it)
		}
	}
	for _, c := range cfg.Campaigns {
		limit, from := c.MaxRecipients, "the campaign's max_recipients"
		if limit == 0 {
			limit, from = cfg.Provider.MaxRecipients, "the provider's max_recipients"
		}
		if n := first[c.Name]; limit > 0 && n > limit {
			d := &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Campaign larger than max_recipients",
				Detail: fmt.Sprintf("Campaign %q would send %d first-contact messages now; %s is %d. "+
					"Check the recipients' CSV and where filter. To send to all of them, run again with -allow-large.", c.Name, n, from, limit),
				Subject: c.DeclRange.Ptr(),
			}
			if o.AllowLarge {
				d.Severity, d.Detail = hcl.DiagWarning, fmt.Sprintf("Campaign %q sends %d first-contact messages, above %s of %d, as -allow-large permits.", c.Name, n, from, limit)
			}
			diags = append(diags, d)
		}
	}
	if len(rekeyed) > 0 {
		var b strings.Builder
		for i, it := range rekeyed {
			if i == 5 {
				fmt.Fprintf(&b, "  … and %d more\n", len(rekeyed)-5)
				break
			}
			fmt.Fprintf(&b, "  %s to %s, sent before as %q\n", it.Addr, it.Phone, it.RekeyedFrom)
		}
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Recipients with new keys but phones already messaged",
			Detail: fmt.Sprintf("%d first contacts would go to phones the state records under keys the recipients no longer have:\n%s"+
				"This is what a changed key column looks like, and applying would message these people a second time. "+
				"Restore the key, or move the sends to the new keys with \"ujumbe state mv\"; if these really are different people, run again with -allow-rekey.",
				len(rekeyed), b.String()),
			Subject: rekeyed[0].Message.Campaign.Recipients.DeclRange.Ptr(),
		}
		if o.AllowRekey {
			d.Severity = hcl.DiagWarning
			d.Detail = fmt.Sprintf("%d first contacts go to phones the state records under other keys, as -allow-rekey permits:\n%s", len(rekeyed), b.String())
		}
		diags = append(diags, d)
	}
	return diags
}
