package addrs

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// The written form of an address is HCL's: moved blocks are HCL, and users
// copy addresses between them and the CLI. These tests hold the hand-written
// reader and writer (kept free of hcl so that the state need not import it)
// to what hcl itself reads and writes.

// hclPattern reads s with hcl's traversal parser, as a pattern, or reports
// that hcl does not read it as one.
func hclPattern(s string) (Pattern, bool) {
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() || len(trav) < 2 || len(trav) > 5 || len(trav) == 3 || trav.RootName() != "campaign" {
		return Pattern{}, false
	}
	name := func(i int) (string, bool) {
		a, ok := trav[i].(hcl.TraverseAttr)
		return a.Name, ok
	}
	var p Pattern
	var ok bool
	if p.Campaign, ok = name(1); !ok {
		return Pattern{}, false
	}
	if len(trav) >= 4 {
		kw, ok1 := name(2)
		m, ok2 := name(3)
		if !ok1 || !ok2 || kw != "message" {
			return Pattern{}, false
		}
		p.Message = m
	}
	if len(trav) == 5 {
		ix, ok := trav[4].(hcl.TraverseIndex)
		if !ok || ix.Key.IsNull() {
			return Pattern{}, false
		}
		v, err := convert.Convert(ix.Key, cty.String)
		if err != nil {
			return Pattern{}, false
		}
		if p.Key = v.AsString(); p.Key == "" {
			return Pattern{}, false // as ParsePattern, hcl reads no empty key
		}
	}
	return p, true
}

// inScope reports whether s is an input both readers are meant to agree
// on: valid UTF-8 without comments (hcl skips them, addresses have none)
// or the legacy .0 index, and valid names.
func inScope(s string, p Pattern) bool {
	return utf8.ValidString(s) && !strings.ContainsAny(s, "#/") &&
		ValidName(p.Campaign) && (p.Message == "" || ValidName(p.Message)) &&
		len(p.Key) <= MaxKey
}

// hugeExponent finds number keys whose decimal form hcl would spend minutes
// writing out, which ParsePattern refuses at once as too long.
var hugeExponent = regexp.MustCompile(`[eE][+-]?[0-9]{4,}`)

func checkAgreement(t *testing.T, s string) {
	if hugeExponent.MatchString(s) {
		return
	}
	got, err := ParsePattern(s)
	want, ok := hclPattern(s)
	switch {
	case err == nil && (!ok || got != want):
		t.Fatalf("ParsePattern(%q) = %+v; hcl reads %+v (%v)", s, got, want, ok)
	case err != nil && ok && inScope(s, want):
		t.Fatalf("ParsePattern(%q): %v; hcl reads %+v", s, err, want)
	}
}

func TestParsePatternAgreesWithHCL(t *testing.T) {
	for _, s := range []string{
		`campaign.x`, ` campaign.x `, "campaign . x\n.message. y", `campaign.a-b_c.message.d`,
		`campaign.x.message.y["k"]`, `campaign.x.message.y[ "k" ]`, `campaign.x.message.y[1042]`,
		`campaign.x.message.y[007]`, `campaign.x.message.y[1.50]`, `campaign.x.message.y[1e3]`,
		`campaign.x.message.y[2.5E-3]`, `campaign.x.message.y[1.]`, `campaign.x.message.y[-1]`,
		`campaign.x.message.y["a\"b\\c\n\r\t"]`, `campaign.x.message.y["\u00e9\U0001F600"]`,
		`campaign.x.message.y["e` + "\u0301" + `"]`, `campaign.x.message.y["$${x}%%{y}"]`,
		`campaign.x.message.y["$$${x}"]`, `campaign.x.message.y["$$x%%"]`, `campaign.x.message.y["${x}"]`,
		`campaign.x.message.y["%{if}"]`, `campaign.x.message.y["\q"]`, `campaign.x.message.y["\u12"]`,
		`campaign.x.message.y["\ud800"]`, `campaign.x.message.y["\U00110000"]`, "campaign.x.message.y[\"a\tb\"]",
		"campaign.x.message.y[\"a\nb\"]", `campaign.x.message.y[""]`, `campaign.x.message.y[k]`,
		`campaign.x.message.y[*]`, `campaign.x.message.y.*`, `campaign.x.message.y["k"].z`,
		`campaign.x.message.y["k"]["l"]`, `campaign.x["k"]`, `campaign.x.msg.y`, `campaign`, ``,
		`campaign.x.message`, `campaign.-x`, `campaign._x`, `campaign.x-`, `campaign.x.message.y[true]`,
		`campaign.x.message.y["k"`, `campaign.x.message.y["k]`, `campaign.x.message.y[0x10]`,
	} {
		t.Run(s, func(t *testing.T) { checkAgreement(t, s) })
	}
}

func FuzzParsePatternAgreesWithHCL(f *testing.F) {
	for _, s := range []string{`campaign.x.message.y["k"]`, `campaign.x.message.y[1.5e2]`, `campaign.x`,
		`campaign.x.message.y["\u00e9$${%%{\""]`, `campaign.x.message.y[ "k" ] `} {
		f.Add(s)
	}
	f.Fuzz(checkAgreement)
}

// TestStringAgreesWithHCL checks that keys are written as hclwrite writes
// them, and read back by hcl as the same key.
func TestStringAgreesWithHCL(t *testing.T) {
	for _, k := range []string{"C-1042", `"`, `\`, "${", "%{", "$", "%", "$$", "a${b}%{c}", "\x00", "\x7f",
		"é", "\u2028", "\u00a0", "\U0001F600", "\U000E0001", "tab\there", "\r\n"} {
		t.Run(k, func(t *testing.T) { checkString(t, k) })
	}
}

func FuzzStringAgreesWithHCL(f *testing.F) {
	f.Add("C-1042")
	f.Add("${\"\\\u2028")
	f.Fuzz(checkString)
}

func checkString(t *testing.T, key string) {
	a := Addr{"x", "y", key}
	if a.Validate() != nil {
		return
	}
	if got, want := string(appendKey(nil, key)), string(hclwrite.TokensForValue(cty.StringVal(key)).Bytes()); got != want {
		t.Fatalf("appendKey(%q) = %s, hclwrite writes %s", key, got, want)
	}
	if p, ok := hclPattern(a.String()); !ok || p != a.Pattern() {
		t.Fatalf("hcl reads %s as %+v (%v), want %+v", a, p, ok, a.Pattern())
	}
}
