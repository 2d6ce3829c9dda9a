package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
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
	// AllowResend permits sends to phones that already accepted the same
	// content under another address (-allow-resend).
	AllowResend bool `json:"allow_resend,omitempty"`
}

// Guard checks p against the limits no plan may cross by accident: a
// campaign sending more first contacts than max_recipients, recipients
// whose key changed while their phone did not (a renamed key column makes
// everyone look new), and content going to phones that already accepted it
// under another address (a rename without a moved block). Each is an error
// unless its GuardOptions permission is given, and then a warning.
func Guard(cfg *config.Config, p *Plan, o GuardOptions) hcl.Diagnostics {
	var diags hcl.Diagnostics
	first, held := map[string]int{}, map[string]int{}
	var rekeyed []*Item
	// First contacts are counted among the sends due, and those the limits
	// hold back. A changed key is marked when due, so also on a send the
	// limits hold back a while: every send of a plan built whole is looked
	// at (Rebuild builds whole when a first contact falls due, and under
	// the limits), in place and in one pass: a slice of pointers to
	// millions of Items would be garbage at the plan's peak.
	for it := range p.dueBeforeLimits() {
		if it.Message != nil && it.Message.After == nil {
			switch {
			case it.Class.Sends():
				first[it.Addr().Campaign]++
			case it.heldBack():
				held[it.Addr().Campaign]++
			}
		}
		if it.RekeyedFrom() != "" {
			rekeyed = append(rekeyed, it)
		}
	}
	for _, c := range cfg.Campaigns {
		limit, from := c.MaxRecipients, "the campaign's max_recipients"
		if limit == 0 {
			limit, from = cfg.Provider.MaxRecipients, "the provider's max_recipients"
		}
		n, when := first[c.Name], "now"
		if held[c.Name] > 0 && limit > 0 && n <= limit && !p.begun(c) {
			// Before its first send, a campaign is as large as the first
			// contacts the limits spread over later runs too, each of
			// which would stay under max_recipients alone. Once it has
			// begun, confirmed, the runs that go on with it are not asked
			// again.
			n += held[c.Name]
			when = fmt.Sprintf("(%d now, the rest as the limits allow)", first[c.Name])
		}
		if limit > 0 && n > limit {
			d := &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Campaign larger than max_recipients",
				Detail: fmt.Sprintf("Campaign %q would send %d first-contact messages %s; %s is %d. "+
					"Check the recipients' CSV and where filter. To send to all of them, run again with -allow-large.", c.Name, n, when, from, limit),
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
			fmt.Fprintf(&b, "  %s to %s, sent before as %q\n", it.Addr(), it.Phone(), it.RekeyedFrom())
		}
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Recipients with new keys but phones already messaged",
			Detail: fmt.Sprintf("%s would go to phones the state records under keys the recipients no longer have:\n%s"+
				"This is what a changed key column looks like, and applying would message these people a second time. "+
				"Restore the key, or move the sends to the new keys with \"ujumbe state mv\"; if these really are different people, run again with -allow-rekey.",
				firstContacts(len(rekeyed)), b.String()),
			Subject: rekeyed[0].Message.Campaign.Recipients.DeclRange.Ptr(),
		}
		if o.AllowRekey {
			d.Severity = hcl.DiagWarning
			d.Detail = fmt.Sprintf("%s go to phones the state records under other keys, as -allow-rekey permits:\n%s", firstContacts(len(rekeyed)), b.String())
		}
		diags = append(diags, d)
	}
	if len(p.Resends) > 0 {
		diags = append(diags, resendDiag(cfg, p, o.AllowResend))
	}
	return diags
}

// heldBack reports whether it is a send due by its own rules that the
// limits hold back a while: Scheduled with the digest of what would go.
func (it *Item) heldBack() bool {
	return it.Class == Scheduled && it.Digest != (state.Digest{})
}

// begun reports whether the state records an attempt at any first contact
// of c: the campaign has begun sending.
func (p *Plan) begun(c *config.Campaign) bool {
	for i := range p.Items {
		if it := &p.Items[i]; it.Message != nil && it.Message.Campaign == c && it.Message.After == nil && it.Attempts > 0 {
			return true
		}
	}
	return false
}

// resendDiag reports p's resends, with the moved blocks that would make
// them renames: an error, or a warning when allowed.
func resendDiag(cfg *config.Config, p *Plan, allowed bool) *hcl.Diagnostic {
	var list strings.Builder
	var blocks []string
	summary, had := "Same content to phones that already accepted it", "already accepted the same content under another address"
	for i, r := range p.Resends {
		it := &p.Items[r.Item]
		how := "accepted"
		switch {
		case r.InDoubt:
			how = "maybe accepted (in doubt, ?)"
		case r.InPlan:
			how = "also sent now"
			summary, had = "Same content twice to the same phones", "get the same content under another address, accepted before or sent by this plan"
		}
		if i < 5 {
			fmt.Fprintf(&list, "  %s to %s, %s as %s\n", it.Addr(), it.Phone(), how, r.Of)
		} else if i == 5 {
			fmt.Fprintf(&list, "  … and %d more\n", len(p.Resends)-5)
		}
		if b := movedBlock(cfg, r.Of, it.Addr()); b != "" && !slices.Contains(blocks, b) {
			blocks = append(blocks, b)
		}
	}
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Subject:  p.Items[p.Resends[0].Item].Message.DeclRange.Ptr(),
	}
	if allowed {
		d.Severity = hcl.DiagWarning
		d.Detail = fmt.Sprintf("%d sends go to phones that %s, as -allow-resend permits:\n%s", len(p.Resends), had, list.String())
		return d
	}
	what := "This is what a rename without a moved block looks like, and applying would message these people a second time. " +
		"If it is a rename, say so, and nobody is messaged again:\n\n" + strings.Join(blocks, "\n") + "\n"
	if len(blocks) == 0 {
		what = "Applying would message these people a second time: the earlier addresses are still in the configuration, so this content would go out under two names. "
	}
	d.Detail = fmt.Sprintf("%d sends would go to phones that %s:\n%s%s"+
		"If they really are to get it again, run again with -allow-resend.", len(p.Resends), had, list.String(), what)
	return d
}

// movedBlock returns the moved block that makes the send recorded at from
// the send to at to, or "" when none can: the keys differ, or from is
// still in the configuration. A whole campaign moves when only its name
// changed.
func movedBlock(cfg *config.Config, from, to addrs.Addr) string {
	if from.Key != to.Key {
		return ""
	}
	var fromCampaign *config.Campaign
	for _, c := range cfg.Campaigns {
		if c.Name == from.Campaign {
			fromCampaign = c
		}
	}
	var f, t addrs.Pattern
	switch {
	case fromCampaign == nil && from.Message == to.Message:
		f, t = addrs.Pattern{Campaign: from.Campaign}, addrs.Pattern{Campaign: to.Campaign}
	case fromCampaign == nil || !slices.ContainsFunc(fromCampaign.Messages, func(m *config.Message) bool { return m.Name == from.Message }):
		f, t = addrs.Pattern{Campaign: from.Campaign, Message: from.Message}, addrs.Pattern{Campaign: to.Campaign, Message: to.Message}
	default:
		return ""
	}
	return fmt.Sprintf("moved {\n  from = %s\n  to   = %s\n}\n", f, t)
}

// firstContacts is "1 first contact" or "n first contacts".
func firstContacts(n int) string {
	if n == 1 {
		return "1 first contact"
	}
	return fmt.Sprintf("%d first contacts", n)
}
