package config

import (
	"fmt"
	"math"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The provider's defaults.
const (
	defaultBaseURL = "https://karibu.briq.tz"
	defaultRate    = 20
	defaultBurst   = 1

	// The failure breaker's defaults: stop at 20% systemic failures over
	// the last 200 sends, or at 10 in a row.
	defaultMaxFailureRate         = 0.2
	defaultFailureWindow          = 200
	defaultMaxConsecutiveFailures = 10
	maxFailureWindow              = 100000
)

var providerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "api_key"},
		{Name: "base_url"},
		{Name: "sender"},
		{Name: "rate"},
		{Name: "burst"},
		{Name: "max_recipients"},
		{Name: "opt_out_keywords"},
		{Name: "max_failure_rate"},
		{Name: "failure_window"},
		{Name: "max_consecutive_failures"},
		{Name: "daily_first_contacts"},
		{Name: "pair_spacing"},
		{Name: "settle"},
	},
}

func defaultProvider() *Provider {
	return &Provider{
		BaseURL:        defaultBaseURL,
		Rate:           defaultRate,
		Burst:          defaultBurst,
		OptOutKeywords: []string{"STOP", "UNSUBSCRIBE"},

		MaxFailureRate:         defaultMaxFailureRate,
		FailureWindow:          defaultFailureWindow,
		MaxConsecutiveFailures: defaultMaxConsecutiveFailures,
		PairSpacing:            defaultPairSpacing,
	}
}

func (l *loader) decodeProviders(blocks hcl.Blocks) {
	var seen *hcl.Block
	for _, b := range blocks {
		if b.Labels[0] != "briq" {
			l.diags = append(l.diags, errorf(b.LabelRanges[0], "Unsupported provider",
				"ujumbe sends through Briq, so the only provider is \"briq\".%s", didYouMean(b.Labels[0], []string{"briq"})))
			continue
		}
		if seen != nil {
			l.duplicate(b, "briq", seen.DefRange)
			continue
		}
		seen = b
		l.decodeProvider(b)
	}
}

func (l *loader) decodeProvider(b *hcl.Block) {
	p := l.cfg.Provider
	p.DeclRange = b.DefRange
	content, diags := b.Body.Content(providerSchema)
	l.diags = append(l.diags, diags...)
	const what = "the provider block"
	attrs := content.Attributes
	if a, ok := attrs["api_key"]; ok {
		if s, ok := l.staticString(a, what, true); ok {
			p.APIKey = s
			l.checkKeySensitive(a)
		}
	}
	if a, ok := attrs["base_url"]; ok {
		if s, ok := l.staticString(a, what, false); ok {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid base_url",
					"base_url must be an http or https URL such as %q; %q is not.", defaultBaseURL, s))
			} else {
				p.BaseURL = strings.TrimRight(s, "/")
			}
		}
	}
	if a, ok := attrs["sender"]; ok {
		if s, ok := l.staticString(a, what, false); ok {
			// Briq: "sender", the number or phone_number_id, maxLength 64.
			if len(s) > 64 {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid sender",
					"sender is a WhatsApp number or phone_number_id of at most 64 characters; this one has %d.", len(s)))
			} else {
				p.Sender = s
			}
		}
	}
	if a, ok := attrs["rate"]; ok {
		// One rule for 0 and -1 alike: staticNumber's minimum would call
		// 0 allowed for -1, then 0 refused.
		if f, ok := l.staticNumber(a, what, false, math.Inf(-1)); ok {
			if f <= 0 {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid value",
					"rate is messages per second and must be more than 0; it is %g. Leave rate out for the default (%g per second).", f, float64(defaultRate)))
			} else {
				p.Rate = f
			}
		}
	}
	if a, ok := attrs["burst"]; ok {
		if f, ok := l.staticNumber(a, what, true, 1); ok {
			p.Burst = int(f)
		}
	}
	if a, ok := attrs["max_recipients"]; ok {
		if f, ok := l.staticNumber(a, what, true, 0); ok {
			p.MaxRecipients = int(f)
		}
	}
	l.decodeBreaker(p, attrs)
	l.decodeLimits(p, attrs)
	if a, ok := attrs["opt_out_keywords"]; ok {
		if v, ok := l.staticValue(a.Expr, what); ok {
			lv, err := convert.Convert(v, cty.List(cty.String))
			if err != nil || lv.IsNull() || v.IsMarked() {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Incorrect value type",
					"opt_out_keywords must be a list of strings, such as [\"STOP\", \"UNSUBSCRIBE\"]."))
			} else {
				p.OptOutKeywords = []string{}
				for _, k := range lv.AsValueSlice() {
					if k.IsNull() || strings.TrimSpace(k.AsString()) == "" {
						l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid value",
							"opt_out_keywords cannot contain empty or null keywords."))
						continue
					}
					p.OptOutKeywords = append(p.OptOutKeywords, strings.TrimSpace(k.AsString()))
				}
			}
		}
	}
}

// decodeBreaker reads the thresholds of the failure breaker, which stops an
// apply when sends fail for reasons that are not about their recipients.
func (l *loader) decodeBreaker(p *Provider, attrs hcl.Attributes) {
	const what = "the provider block"
	if a, ok := attrs["max_failure_rate"]; ok {
		if f, ok := l.staticNumber(a, what, false, 0); ok {
			if f <= 0 || f > 1 {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid value",
					"max_failure_rate is the share of failed sends, among the last failure_window, that stops apply: more than 0 and at most 1, such as 0.2 for 20%%; it is %g.", f))
			} else {
				p.MaxFailureRate = f
			}
		}
	}
	if a, ok := attrs["failure_window"]; ok {
		if f, ok := l.staticNumber(a, what, true, 10); ok {
			if f > maxFailureWindow {
				l.diags = append(l.diags, errorf(a.Expr.Range(), "Invalid value",
					"failure_window is the number of recent sends max_failure_rate is taken over, from 10 to %d; it is %g.", maxFailureWindow, f))
			} else {
				p.FailureWindow = int(f)
			}
		}
	}
	if a, ok := attrs["max_consecutive_failures"]; ok {
		if f, ok := l.staticNumber(a, what, true, 0); ok {
			p.MaxConsecutiveFailures = int(f)
		}
	}
}

// checkKeySensitive warns when api_key is not a sensitive value: a key
// written in the file goes into git with it, and a variable not marked
// sensitive may be printed in a diagnostic or put into a message, where
// the sensitive mark is an error.
func (l *loader) checkKeySensitive(a *hcl.Attribute) {
	if v, ok := l.staticValue(a.Expr, "the provider block"); !ok || v.IsMarked() {
		return
	}
	// No Subject: the printer would quote the line, and a key written in
	// it would go to the output and the logs.
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "API key not sensitive",
		Detail: fmt.Sprintf("api_key (%s line %d) is not a sensitive value: a key written in the configuration goes into git with it, "+
			"and one from a variable not marked sensitive can be printed or put into a message. "+
			"Set BRIQ_API_KEY in the environment and leave api_key out, or declare the variable with sensitive = true.",
			a.NameRange.Filename, a.NameRange.Start.Line),
	})
}
