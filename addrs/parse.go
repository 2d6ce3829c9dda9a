package addrs

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ParsePattern parses an address as the CLI, moved blocks and the state's
// records write it: campaign.NAME, campaign.NAME.message.NAME or
// campaign.NAME.message.NAME["KEY"] (a number is accepted as the key, too).
// The key is an HCL quoted string, so escapes such as \" and \u00e9 work, and
// it is normalized to NFC as HCL normalizes strings. Spaces may surround the
// parts, as in HCL.
func ParsePattern(s string) (Pattern, error) {
	steps, err := scan(s)
	if err != nil {
		return Pattern{}, fmt.Errorf("invalid address %q: %w", s, err)
	}
	// campaign.NAME, then optionally .message.NAME, then optionally [KEY].
	name := func(i int) bool { return i < len(steps) && steps[i].isName }
	ok := len(steps) >= 2 && len(steps) <= 5 && steps[0].name == "campaign" && name(1) &&
		(len(steps) == 2 || name(2) && steps[2].name == "message" && name(3) && (len(steps) == 4 || !name(4)))
	if !ok {
		return Pattern{}, fmt.Errorf("invalid address %q: expected campaign.NAME, campaign.NAME.message.NAME or campaign.NAME.message.NAME[\"KEY\"]", s)
	}
	var p Pattern
	p.Campaign = steps[1].name
	if len(steps) >= 4 {
		p.Message = steps[3].name
	}
	if len(steps) == 5 {
		p.Key = steps[4].name
		if p.Key == "" {
			return Pattern{}, fmt.Errorf("invalid address %q: the recipient key is empty", s)
		}
	}
	for _, n := range []struct{ what, name string }{{"campaign", p.Campaign}, {"message", p.Message}} {
		if n.name != "" && !ValidName(n.name) {
			return Pattern{}, fmt.Errorf("invalid address %q: %q is not a valid %s name; a name starts with a letter or underscore and may contain letters, digits, underscores and dashes", s, n.name, n.what)
		}
	}
	if p.Key != "" {
		if err := checkKey(p.Key); err != nil {
			return Pattern{}, fmt.Errorf("invalid address %q: %w", s, err)
		}
	}
	return p, nil
}

// step is one part of a traversal: a name (root or .NAME) or an index
// ([KEY], its key as a string).
type step struct {
	name   string
	isName bool
}

// scan splits s into the steps of an HCL absolute traversal: a name, then
// any number of .NAME and [KEY], KEY being a quoted string without template
// sequences or a number. A syntax error says at which column (in runes) it
// was found.
func scan(s string) ([]step, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("not valid UTF-8")
	}
	sc := scanner{s: s}
	sc.space()
	name, err := sc.name("a name")
	if err != nil {
		return nil, err
	}
	steps := []step{{name: name, isName: true}}
	for sc.space(); sc.i < len(s); sc.space() {
		switch s[sc.i] {
		case '.':
			sc.i++
			sc.space()
			if name, err = sc.name("a name after the dot"); err != nil {
				return nil, err
			}
			steps = append(steps, step{name: name, isName: true})
		case '[':
			sc.i++
			sc.space()
			key, err := sc.key()
			if err != nil {
				return nil, err
			}
			sc.space()
			if !strings.HasPrefix(s[sc.i:], "]") {
				return nil, sc.errorf("expected ] after the key")
			}
			sc.i++
			steps = append(steps, step{name: key})
		default:
			return nil, sc.errorf("expected . or [")
		}
	}
	return steps, nil
}

type scanner struct {
	s string
	i int // byte offset of the next rune
}

// errorf returns an error that says at which column the scanner is.
func (sc *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf(format+" (column %d)", append(args, utf8.RuneCountInString(sc.s[:sc.i])+1)...)
}

// space skips white space.
func (sc *scanner) space() {
	for sc.i < len(sc.s) && strings.IndexByte(" \t\r\n", sc.s[sc.i]) >= 0 {
		sc.i++
	}
}

// name reads an identifier: a letter or underscore, then letters, digits,
// underscores and dashes. It reads any letters, so that ParsePattern can say
// which name is not a valid one.
func (sc *scanner) name(what string) (string, error) {
	start := sc.i
	for sc.i < len(sc.s) {
		r, n := utf8.DecodeRuneInString(sc.s[sc.i:])
		first := sc.i == start
		if !(r == '_' || unicode.IsLetter(r) || !first && (r == '-' || unicode.IsDigit(r) || unicode.IsMark(r))) {
			break
		}
		sc.i += n
	}
	if sc.i == start {
		return "", sc.errorf("expected %s", what)
	}
	return sc.s[start:sc.i], nil
}

// key reads a quoted string or a number, as the string HCL converts it to.
func (sc *scanner) key() (string, error) {
	switch {
	case strings.HasPrefix(sc.s[sc.i:], `"`):
		return sc.quoted()
	case sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9':
		return sc.number()
	}
	return "", sc.errorf(`expected a quoted key such as ["C-1042"] or a number`)
}

// number reads a number literal, digits with an optional fraction and
// exponent, and returns it as HCL turns a number into a string.
func (sc *scanner) number() (string, error) {
	start := sc.i
	digits := func() int {
		n := 0
		for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
			sc.i, n = sc.i+1, n+1
		}
		return n
	}
	digits()
	if strings.HasPrefix(sc.s[sc.i:], ".") {
		sc.i++
		if digits() == 0 {
			return "", sc.errorf("expected digits after the decimal point")
		}
	}
	if sc.i < len(sc.s) && (sc.s[sc.i] == 'e' || sc.s[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.s) && (sc.s[sc.i] == '+' || sc.s[sc.i] == '-') {
			sc.i++
		}
		if digits() == 0 {
			return "", sc.errorf("expected digits in the exponent")
		}
	}
	f, _, err := big.ParseFloat(sc.s[start:sc.i], 10, 512, big.ToNearestEven)
	if err != nil {
		return "", sc.errorf("invalid number: %v", err)
	}
	// A binary exponent this far from zero writes more than MaxKey digits.
	if e := f.MantExp(nil); e > 4*MaxKey || e < -4*MaxKey {
		return "", fmt.Errorf("recipient key is longer than %d bytes", MaxKey)
	}
	return f.Text('f', -1), nil
}

// quoted reads an HCL quoted string without template sequences: escapes
// \n \r \t \" \\ \uXXXX \UXXXXXXXX, and $${ and %%{ for ${ and %{. It
// returns the string normalized to NFC, as HCL does.
func (sc *scanner) quoted() (string, error) {
	sc.i++ // the opening quote
	var b strings.Builder
	for {
		if sc.i >= len(sc.s) {
			return "", sc.errorf("unterminated string: no closing quote mark")
		}
		c := sc.s[sc.i]
		switch {
		case c == '"':
			sc.i++
			return norm.NFC.String(b.String()), nil
		case c == '\n' || c == '\r':
			return "", sc.errorf("unterminated string: a line break before the closing quote mark")
		case c == '\\':
			if err := sc.escape(&b); err != nil {
				return "", err
			}
		case (c == '$' || c == '%') && strings.HasPrefix(sc.s[sc.i+1:], string(c)+"{"):
			b.WriteString(string(c) + "{")
			sc.i += 3
		case (c == '$' || c == '%') && strings.HasPrefix(sc.s[sc.i+1:], "{"):
			return "", sc.errorf("template sequences are not allowed in a key; to include a literal %q, double it (as \"%c%c{\")", c, c, c)
		default:
			b.WriteByte(c)
			sc.i++
		}
	}
}

// escape reads the escape sequence at the scanner into b.
func (sc *scanner) escape(b *strings.Builder) error {
	rest := sc.s[sc.i+1:]
	if rest == "" {
		return sc.errorf("unterminated string: no closing quote mark")
	}
	digits := 0
	switch rest[0] {
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case '"', '\\':
		b.WriteByte(rest[0])
	case 'u':
		digits = 4
	case 'U':
		digits = 8
	default:
		r, _ := utf8.DecodeRuneInString(rest)
		return sc.errorf("invalid escape sequence: %q is not a valid escape sequence selector", string(r))
	}
	if digits == 0 {
		sc.i += 2
		return nil
	}
	hex := rest[1:min(len(rest), 1+digits)]
	num, err := strconv.ParseUint(hex, 16, 32)
	if len(hex) != digits || err != nil {
		return sc.errorf(`invalid escape sequence: \%c must be followed by %d hexadecimal digits`, rest[0], digits)
	}
	r := rune(num)
	if utf8.RuneLen(r) < 0 {
		return sc.errorf("invalid escape sequence: cannot encode character U+%04x in UTF-8", num)
	}
	b.WriteRune(r)
	sc.i += 2 + digits
	return nil
}
