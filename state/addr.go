package state

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"golang.org/x/text/unicode/norm"
)

// maxField is the longest key, phone number, id or error code the state
// accepts, in bytes. Longer error messages are shortened to it.
const maxField = 1024

// Addr identifies one send: a message of a campaign to one recipient key.
type Addr struct {
	Campaign string
	Message  string
	Key      string
}

// String returns the address as a user writes it, for example
// campaign.black_friday.message.ask["C-1042"], with the key quoted as an HCL
// string so that ParseAddr reads it back.
func (a Addr) String() string {
	return "campaign." + a.Campaign + ".message." + a.Message + "[" + quoteKey(a.Key) + "]"
}

// Pattern returns the pattern that matches exactly a.
func (a Addr) Pattern() Pattern {
	return Pattern(a)
}

// Validate reports why a cannot name a send: the names must be HCL
// identifiers and the key non-empty, at most 1024 bytes of valid UTF-8 in
// Unicode normal form C. (HCL normalizes every string to NFC, so another
// key could not be written in an address; normalize keys when reading them.)
func (a Addr) Validate() error {
	switch {
	case !hclsyntax.ValidIdentifier(a.Campaign):
		return fmt.Errorf("campaign name %q is not a valid identifier", a.Campaign)
	case !hclsyntax.ValidIdentifier(a.Message):
		return fmt.Errorf("message name %q is not a valid identifier", a.Message)
	case a.Key == "":
		return errors.New("recipient key is empty")
	}
	if err := checkText("recipient key", a.Key); err != nil {
		return err
	}
	if !norm.NFC.IsNormalString(a.Key) {
		return fmt.Errorf("recipient key %q is not in Unicode normal form C", a.Key)
	}
	return nil
}

// Pattern selects sends: all of them (the zero Pattern), those of a campaign,
// those of one message of a campaign, or a single send. A field left empty
// matches anything; Key is set only with Message, and Message only with
// Campaign.
type Pattern struct {
	Campaign string
	Message  string
	Key      string
}

// Match reports whether the send at a is selected by p.
func (p Pattern) Match(a Addr) bool {
	return (p.Campaign == "" || p.Campaign == a.Campaign) &&
		(p.Message == "" || p.Message == a.Message) &&
		(p.Key == "" || p.Key == a.Key)
}

// Addr returns the single send p selects, if p names one.
func (p Pattern) Addr() (Addr, bool) {
	return Addr(p), p.Key != ""
}

// String returns p as ParseAddr accepts it; the zero Pattern is "".
func (p Pattern) String() string {
	switch {
	case p.Campaign == "":
		return ""
	case p.Message == "":
		return "campaign." + p.Campaign
	case p.Key == "":
		return "campaign." + p.Campaign + ".message." + p.Message
	}
	return Addr(p).String()
}

// depth is the number of address parts p fixes: 0 (everything) to 3 (a send).
func (p Pattern) depth() int {
	switch {
	case p.Campaign == "":
		return 0
	case p.Message == "":
		return 1
	case p.Key == "":
		return 2
	}
	return 3
}

// ParseAddr parses an address as the CLI and moved blocks write it:
// campaign.NAME, campaign.NAME.message.NAME or
// campaign.NAME.message.NAME["KEY"] (a number is accepted as the key, too).
// The key is an HCL quoted string, so escapes such as \" and \u00e9 work.
func ParseAddr(s string) (Pattern, error) {
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return Pattern{}, fmt.Errorf("invalid address %q: %s", s, diagSummary(diags))
	}
	var p Pattern
	ok := len(trav) >= 2 && len(trav) <= 5 && trav.RootName() == "campaign"
	if ok {
		p.Campaign, ok = attrName(trav[1])
	}
	if ok && len(trav) >= 3 {
		var kw string
		kw, ok = attrName(trav[2])
		ok = ok && kw == "message" && len(trav) >= 4
	}
	if ok && len(trav) >= 4 {
		p.Message, ok = attrName(trav[3])
	}
	if ok && len(trav) == 5 {
		p.Key, ok = indexKey(trav[4])
		if ok && p.Key == "" {
			return Pattern{}, fmt.Errorf("invalid address %q: the recipient key is empty", s)
		}
	}
	if !ok {
		return Pattern{}, fmt.Errorf("invalid address %q: expected campaign.NAME, campaign.NAME.message.NAME or campaign.NAME.message.NAME[\"KEY\"]", s)
	}
	if p.Key != "" {
		if err := checkText("recipient key", p.Key); err != nil {
			return Pattern{}, fmt.Errorf("invalid address %q: %w", s, err)
		}
	}
	return p, nil
}

func attrName(t hcl.Traverser) (string, bool) {
	a, ok := t.(hcl.TraverseAttr)
	return a.Name, ok
}

func indexKey(t hcl.Traverser) (string, bool) {
	ix, ok := t.(hcl.TraverseIndex)
	if !ok || ix.Key.IsNull() {
		return "", false
	}
	v, err := convert.Convert(ix.Key, cty.String)
	if err != nil {
		return "", false
	}
	return v.AsString(), true
}

// diagSummary describes the first error of diags, where the column says
// where in the address it was found.
func diagSummary(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			msg := strings.TrimSuffix(d.Summary, ".") + ": " + strings.TrimSuffix(d.Detail, ".")
			if d.Subject != nil {
				msg += fmt.Sprintf(" (column %d)", d.Subject.Start.Column)
			}
			return msg
		}
	}
	return "unknown syntax error"
}

// quoteKey returns k as an HCL quoted string literal.
func quoteKey(k string) string {
	for i := 0; i < len(k); i++ {
		c := k[i]
		// Anything outside printable ASCII, and the characters HCL escapes,
		// take the library's careful path; plain keys stay allocation-light.
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || ((c == '$' || c == '%') && i+1 < len(k) && k[i+1] == '{') {
			return string(hclwrite.TokensForValue(cty.StringVal(k)).Bytes())
		}
	}
	return `"` + k + `"`
}

// checkText reports why s cannot be stored as the named field, or nil.
func checkText(what, s string) error {
	switch {
	case len(s) > maxField:
		return fmt.Errorf("%s is longer than %d bytes", what, maxField)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	return nil
}
