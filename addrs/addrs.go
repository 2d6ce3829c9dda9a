package addrs

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxKey is the longest recipient key, in bytes.
const MaxKey = 1024

// Addr identifies one send: a message of a campaign to one recipient key.
type Addr struct {
	Campaign string
	Message  string
	Key      string
}

// String returns the address as a user writes it, for example
// campaign.black_friday.message.ask["C-1042"], with the key quoted as an HCL
// string so that ParsePattern reads it back.
func (a Addr) String() string {
	return Pattern(a).String()
}

// Pattern returns the pattern that matches exactly a.
func (a Addr) Pattern() Pattern {
	return Pattern(a)
}

// MessagePattern returns the pattern of the message a is a send of.
func (a Addr) MessagePattern() Pattern {
	return Pattern{Campaign: a.Campaign, Message: a.Message}
}

// Validate reports why a cannot name a send: the names must be valid
// (ValidName) and the key non-empty, at most MaxKey bytes of valid UTF-8 in
// Unicode normal form C. (HCL normalizes every string to NFC, so another
// key could not be written in an address; normalize keys when reading them.)
func (a Addr) Validate() error {
	switch {
	case !ValidName(a.Campaign):
		return fmt.Errorf("campaign name %q is not a valid identifier", a.Campaign)
	case !ValidName(a.Message):
		return fmt.Errorf("message name %q is not a valid identifier", a.Message)
	case a.Key == "":
		return errors.New("recipient key is empty")
	}
	if err := checkKey(a.Key); err != nil {
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
	return p.Contains(Pattern(a))
}

// MatchAny reports whether one of ps selects the send at a.
func MatchAny(ps []Pattern, a Addr) bool {
	for _, p := range ps {
		if p.Match(a) {
			return true
		}
	}
	return false
}

// Contains reports whether every send q selects is selected by p:
// campaign.x contains campaign.x.message.y and itself.
func (p Pattern) Contains(q Pattern) bool {
	return (p.Campaign == "" || p.Campaign == q.Campaign) &&
		(p.Message == "" || p.Message == q.Message) &&
		(p.Key == "" || p.Key == q.Key)
}

// Addr returns the single send p selects, if p names one.
func (p Pattern) Addr() (Addr, bool) {
	return Addr(p), p.Key != ""
}

// Depth is the number of address parts p fixes: 0 (everything), 1 (a
// campaign), 2 (a message) or 3 (a send).
func (p Pattern) Depth() int {
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

// Validate reports why p is not a well-formed pattern: one that skips a
// level, or whose parts Addr.Validate would refuse.
func (p Pattern) Validate() error {
	switch {
	case p.Key != "" && p.Message == "" || p.Message != "" && p.Campaign == "":
		return fmt.Errorf("pattern %+v skips a level", p)
	case p.Key != "":
		return Addr(p).Validate()
	case p.Message != "":
		return Addr{p.Campaign, p.Message, "k"}.Validate()
	case p.Campaign != "":
		return Addr{p.Campaign, "m", "k"}.Validate()
	}
	return nil
}

// String returns p as ParsePattern reads it; the zero Pattern is "".
func (p Pattern) String() string {
	// campaign. .message. [ "" ]: 22 bytes around the names and the key.
	return string(p.Append(make([]byte, 0, len(p.Campaign)+len(p.Message)+len(p.Key)+22)))
}

// Append appends p's String to b.
func (p Pattern) Append(b []byte) []byte {
	if p.Campaign == "" {
		return b
	}
	b = append(append(b, "campaign."...), p.Campaign...)
	if p.Message == "" {
		return b
	}
	b = append(append(b, ".message."...), p.Message...)
	if p.Key == "" {
		return b
	}
	return append(appendKey(append(b, '['), p.Key), ']')
}

// ValidName reports whether s can name a campaign or a message: it starts
// with a letter or underscore and has only letters, digits, underscores and
// dashes (ASCII), so that it is an HCL identifier in every version of HCL.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c == '-' || c >= '0' && c <= '9'):
		default:
			return false
		}
	}
	return true
}

// appendKey appends k as an HCL quoted string literal, escaped as
// hclwrite escapes it: \n, \r, \t, \" and \\, \u or \U for what is not
// printable, and a doubled $ or % before {, which would start a template
// sequence.
func appendKey(b []byte, k string) []byte {
	b = append(b, '"')
	for i, r := range k {
		switch r {
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '$', '%':
			b = append(b, byte(r))
			if strings.HasPrefix(k[i+1:], "{") {
				b = append(b, byte(r))
			}
		default:
			switch {
			case unicode.IsPrint(r):
				b = utf8.AppendRune(b, r)
			case r < 0x10000:
				b = fmt.Appendf(b, `\u%04x`, r)
			default:
				b = fmt.Appendf(b, `\U%08x`, r)
			}
		}
	}
	return append(b, '"')
}

// checkKey reports why k cannot be a recipient key, or nil.
func checkKey(k string) error {
	switch {
	case len(k) > MaxKey:
		return fmt.Errorf("recipient key is longer than %d bytes", MaxKey)
	case !utf8.ValidString(k):
		return errors.New("recipient key is not valid UTF-8")
	}
	return nil
}
