package plan

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// CheckAddrs reports, as errors, the addresses of opts' -target, -exclude
// and -replace that select no send the configuration wants or the state
// records: a typo there would otherwise narrow, widen or resend nothing,
// silently. Each error names the nearest address that does exist.
func CheckAddrs(cfg *config.Config, st *state.State, opts Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, f := range []struct {
		name  string
		ps    []addrs.Pattern
		would string
	}{
		{"target", opts.Targets, "select no send"},
		{"exclude", opts.Excludes, "leave nobody out"},
		{"replace", opts.Replace, "resend nothing"},
	} {
		diags = append(diags, checkAddrs(cfg, st, f.name, f.ps, "nothing in the configuration or the state, so it would "+f.would)...)
	}
	return diags
}

// CheckRecorded reports, as errors, the -target addresses under which st
// records no send, for commands that read the state alone (report -csv),
// each naming the nearest recorded address.
func CheckRecorded(st *state.State, targets []addrs.Pattern) hcl.Diagnostics {
	return checkAddrs(&config.Config{}, st, "target", targets, "no send the state records")
}

// NearestRecorded returns the address of a send the state records that p,
// which selects none, may have meant, or "" when none is near.
func NearestRecorded(st *state.State, p addrs.Pattern) string {
	near, ok := lookupAddr(&config.Config{}, st, p)
	if ok {
		return ""
	}
	return config.Nearest(p.String(), near)
}

// checkAddrs reports the patterns ps of the flag named that lookupAddr does
// not find, saying that each matches what.
func checkAddrs(cfg *config.Config, st *state.State, flag string, ps []addrs.Pattern, what string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range ps {
		near, ok := lookupAddr(cfg, st, p)
		if ok {
			if to, moved := movedAway(cfg, st, p); moved {
				// The plan knows those sends by their new addresses:
				// p would select none of them, and an -exclude would
				// leave them in.
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No send matches -" + flag,
					Detail: fmt.Sprintf("-%s=%s matches only sends the configuration's moved blocks give other addresses, under which the plan knows them. Did you mean -%s=%s?", flag, p, flag, to)})
			}
			continue
		}
		detail := fmt.Sprintf("-%s=%s matches %s.", flag, p, what)
		if n := config.Nearest(p.String(), near); n != "" {
			detail += " Did you mean -" + flag + "=" + n + "?"
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No send matches -" + flag, Detail: detail})
	}
	return diags
}

// lookupAddr reports whether p selects a send the configuration wants or
// the state records. When it does not, near lists the addresses like p that
// exist at the first level (campaign, message, key) p gets wrong.
func lookupAddr(cfg *config.Config, st *state.State, p addrs.Pattern) (near []string, ok bool) {
	var campaign *config.Campaign
	for _, c := range cfg.Campaigns {
		if c.Name == p.Campaign {
			campaign = c
		}
	}
	var message *config.Message
	if campaign != nil {
		for _, m := range campaign.Messages {
			if m.Name == p.Message {
				message = m
			}
		}
	}
	if configured(cfg, p) || recorded(st, p) {
		return nil, true
	}
	// p matches nothing: collect what exists one level up, renamed as p.
	seen := map[string]bool{}
	add := func(q addrs.Pattern) {
		if s := q.String(); !seen[s] {
			seen[s] = true
			near = append(near, s)
		}
	}
	up := addrs.Pattern{}
	switch {
	case campaign == nil && !recorded(st, addrs.Pattern{Campaign: p.Campaign}):
		for _, c := range cfg.Campaigns {
			add(with(p, c.Name, p.Message, p.Key))
		}
	case message == nil && !recorded(st, addrs.Pattern{Campaign: p.Campaign, Message: p.Message}):
		up = addrs.Pattern{Campaign: p.Campaign}
		if campaign != nil {
			for _, m := range campaign.Messages {
				add(with(p, p.Campaign, m.Name, p.Key))
			}
		}
	default:
		up = addrs.Pattern{Campaign: p.Campaign, Message: p.Message}
		if message != nil {
			for _, r := range campaign.Recipients.Recipients {
				add(with(p, p.Campaign, p.Message, r.Key))
			}
		}
	}
	for s := range st.Sends(up) {
		switch up {
		case addrs.Pattern{}:
			add(with(p, s.Addr.Campaign, p.Message, p.Key))
		case addrs.Pattern{Campaign: p.Campaign}:
			add(with(p, p.Campaign, s.Addr.Message, p.Key))
		default:
			add(with(p, p.Campaign, p.Message, s.Addr.Key))
		}
	}
	return near, false
}

// movedAway reports whether p selects sends only as the state records them
// under addresses that moved blocks have moved: no send the configuration
// wants, and no recorded send left where it was. to is the first of them
// as the plan knows it, at p's level.
func movedAway(cfg *config.Config, st *state.State, p addrs.Pattern) (to string, moved bool) {
	if len(cfg.Moved) == 0 || configured(cfg, p) {
		return "", false
	}
	for s := range st.Sends(p) {
		a := MovedTo(cfg, s.Addr)
		if a == s.Addr {
			return "", false
		}
		if to == "" {
			to = with(p, a.Campaign, a.Message, a.Key).String()
		}
	}
	return to, to != ""
}

// configured reports whether p selects a send the configuration wants.
func configured(cfg *config.Config, p addrs.Pattern) bool {
	for _, c := range cfg.Campaigns {
		if c.Name != p.Campaign {
			continue
		}
		if p.Message == "" {
			return true
		}
		for _, m := range c.Messages {
			if m.Name == p.Message && (p.Key == "" || wantsKey(c.Recipients, p.Key)) {
				return true
			}
		}
	}
	return false
}

// with returns p with its campaign, message and key set where p has them.
func with(p addrs.Pattern, campaign, message, key string) addrs.Pattern {
	q := addrs.Pattern{Campaign: campaign}
	if p.Message != "" {
		q.Message = message
	}
	if p.Key != "" {
		q.Key = key
	}
	return q
}

// recorded reports whether the state has a send p selects.
func recorded(st *state.State, p addrs.Pattern) bool {
	for range st.Sends(p) {
		return true
	}
	return false
}

// wantsKey reports whether the recipients have the key.
func wantsKey(rs *config.RecipientSet, key string) bool {
	for _, r := range rs.Recipients {
		if r.Key == key {
			return true
		}
	}
	return false
}
