package phone

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Normalizer normalizes numbers for one default region. It is not
// safe for concurrent use: each worker has its own, so that its cache needs
// no lock.
type Normalizer struct {
	region string       // default region in upper case, "" for none
	rules  *regionRules // the default region's rules, nil for none
	// byCC caches the rules of country calling codes met so far; nil
	// when the code has no fast path.
	byCC map[int]*regionRules
}

// New returns a normalizer for region ("" for numbers that
// must carry their country code). The region must be supported; see
// ValidRegion.
func New(region string) *Normalizer {
	n := &Normalizer{region: strings.ToUpper(region), byCC: map[int]*regionRules{}}
	if n.region != "" {
		n.rules = rulesForRegion(n.region)
	}
	return n
}

// ValidRegion reports whether region is a region code the phone library
// knows, such as "TZ".
func ValidRegion(region string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(region)]
}

// Err* are the reasons a number is refused; the diagnostic text explains
// what to do about each.
var (
	ErrEmpty       = errors.New("it is empty")
	ErrCountryCode = errors.New("it has no valid country code")
	ErrInvalid     = errors.New("it does not fit the numbering plan of its country")
	ErrShort       = errors.New("it is too short")
	ErrLong        = errors.New("it is too long")
	ErrExtension   = errors.New("it has an extension, which WhatsApp cannot reach")
)

// Normalize returns raw as E.164 digits without the '+'.
func (n *Normalizer) Normalize(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ErrEmpty
	}
	if e164, ok := n.fast(s); ok {
		return e164, nil
	}
	return n.slow(s)
}

// slow normalizes s with the library alone.
func (n *Normalizer) slow(s string) (string, error) {
	region := n.region
	if region == "" && !strings.HasPrefix(s, "+") && !strings.HasPrefix(s, "＋") {
		// Without a default region a number can only be international;
		// Briq itself writes those as digits without the '+'.
		s = "+" + s
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", ErrCountryCode
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", ErrShort
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", ErrLong
		default:
			return "", ErrInvalid
		}
	}
	if num.GetExtension() != "" {
		return "", ErrExtension
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", ErrInvalid
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), nil
}

// fast returns the E.164 digits of s when s has one of the simple shapes
// described at the top of this file and the result is certain; ok is false
// when the library must decide.
func (n *Normalizer) fast(s string) (e164 string, ok bool) {
	plus, digits, ok := simpleDigits(s)
	if !ok {
		return "", false
	}
	if plus || n.rules == nil {
		return n.fastInternational(digits)
	}
	return n.rules.fastNational(digits)
}

// Looks reports whether s is written as a phone number is, whether or not
// it is a valid one: seven digits or more, with an optional leading '+'
// and spaces, dashes, dots or parentheses between them.
func Looks(s string) bool {
	_, digits, ok := simpleDigits(strings.TrimSpace(s))
	return ok && len(digits) >= 7
}

// simpleDigits splits s into an optional leading '+' and its ASCII digits,
// allowing spaces, dashes, dots and parentheses between them. It fails on
// anything else (letters, extensions, other scripts' digits, a second '+').
// When s is only digits, the returned string is s itself, so a number that
// is already normalized costs no allocation.
func simpleDigits(s string) (plus bool, digits string, ok bool) {
	if strings.HasPrefix(s, "+") {
		plus, s = true, s[1:]
	}
	if len(s) > 40 {
		return false, "", false
	}
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
			clean = false
		default:
			return false, "", false
		}
	}
	if clean {
		digits = s
	} else {
		var b [40]byte
		k := 0
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= '0' && c <= '9' {
				b[k] = c
				k++
			}
		}
		digits = string(b[:k])
	}
	if len(digits) < 7 || len(digits) > 17 {
		return false, "", false
	}
	return plus, digits, true
}

// fastInternational handles digits that start with a country code.
func (n *Normalizer) fastInternational(digits string) (string, bool) {
	if digits[0] == '0' {
		return "", false
	}
	// Country codes are prefix-free, so the first known prefix is the one
	// the library's extractCountryCode picks.
	for l := 1; l <= 3; l++ {
		cc, _ := strconv.Atoi(digits[:l])
		rules, known := n.byCC[cc]
		if !known {
			regions := phonenumbers.GetRegionCodesForCountryCode(cc)
			switch {
			case len(regions) == 0:
				continue
			case len(regions) == 1 && regions[0] != "001":
				rules = rulesForRegion(regions[0])
			default:
				// Shared or non-geographic country codes need the
				// library's region resolution.
			}
			n.byCC[cc] = rules
		}
		if rules == nil {
			return "", false
		}
		nsn := digits[l:]
		if !rules.plainNational(nsn) || !rules.valid(nsn) {
			return "", false
		}
		return digits, true
	}
	return "", false
}

// fastNational handles digits written without '+' for the rules' region:
// with the country code, with the national prefix, or bare.
func (r *regionRules) fastNational(digits string) (string, bool) {
	if r.idd == nil || r.idd.MatchString(digits) || !r.fastOK {
		return "", false
	}
	if rest, found := strings.CutPrefix(digits, r.cc); found {
		// Parse strips a leading country code when the number is not valid
		// with it and is valid without it.
		if r.general.re.MatchString(digits) || !r.general.re.MatchString(rest) {
			return "", false
		}
		if !r.plainNational(rest) || !r.valid(rest) {
			return "", false
		}
		return digits, true
	}
	if r.nationalPrefix != "" && strings.HasPrefix(digits, r.nationalPrefix) {
		// Parse strips the national prefix unless the number was viable
		// with it and is not without it.
		rest := digits[len(r.nationalPrefix):]
		if r.general.re.MatchString(digits) || rest == "" || rest[0] == '0' || !r.valid(rest) {
			return "", false
		}
		return r.cc + rest, true
	}
	if !r.plainNational(digits) || !r.valid(digits) {
		return "", false
	}
	return r.cc + digits, true
}

// regionRules are one region's validation patterns, compiled once.
type regionRules struct {
	region string
	cc     string // country calling code
	// fastOK is false when the region's national prefix handling is more
	// than a fixed digit string, so national-format numbers go to the library.
	fastOK bool
	// nationalPrefix is the national prefix for parsing when it is a plain
	// digit string ("0"), else "".
	nationalPrefix string
	// prefixRe matches the start of a number that Parse would try to strip a
	// national prefix from; nil when there is none.
	prefixRe *digitMatcher
	idd      *digitMatcher // international dialling prefix, anchored
	general  descRule
	types    []descRule // every number type; mobile first, as it is the usual case
}

// descRule is one PhoneNumberDesc: possible lengths and the full pattern.
type descRule struct {
	lengths []int32
	re      *digitMatcher
}

// match is the library's isNumberMatchingDesc.
func (d descRule) match(nsn string) bool {
	if len(d.lengths) > 0 {
		found := false
		for _, l := range d.lengths {
			if int(l) == len(nsn) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return d.re.MatchString(nsn)
}

// valid is the library's getNumberTypeHelper(nsn) != UNKNOWN.
func (r *regionRules) valid(nsn string) bool {
	if !r.general.match(nsn) {
		return false
	}
	for _, t := range r.types {
		if t.match(nsn) {
			return true
		}
	}
	return false
}

// plainNational reports whether nsn is a national significant number that
// Parse would keep as it is: no leading zero (which E.164 would keep but
// the number's integer form would not) and nothing a national prefix
// pattern could strip.
func (r *regionRules) plainNational(nsn string) bool {
	if nsn == "" || nsn[0] == '0' {
		return false
	}
	return r.prefixRe == nil || !r.prefixRe.MatchString(nsn)
}

var (
	rulesOnce  sync.Once
	rulesMeta  map[string]*phonenumbers.PhoneMetadata
	rulesMu    sync.RWMutex
	rulesCache = map[string]*regionRules{}
)

// rulesForRegion returns the compiled rules of a geographic region, or nil
// when the library has no metadata for it.
func rulesForRegion(region string) *regionRules {
	rulesMu.RLock()
	r, ok := rulesCache[region]
	rulesMu.RUnlock()
	if ok {
		return r
	}
	rulesOnce.Do(func() {
		rulesMeta = map[string]*phonenumbers.PhoneMetadata{}
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			// Without metadata every number takes the library's own path,
			// which reports the problem itself.
			return
		}
		for _, m := range coll.GetMetadata() {
			rulesMeta[m.GetId()] = m
		}
	})
	r = compileRules(rulesMeta[region])
	rulesMu.Lock()
	rulesCache[region] = r
	rulesMu.Unlock()
	return r
}

var plainDigits = regexp.MustCompile(`^[0-9]+$`)

func compileRules(m *phonenumbers.PhoneMetadata) *regionRules {
	if m == nil || m.GetGeneralDesc() == nil || len(m.GetGeneralDesc().PossibleLength) == 0 {
		return nil
	}
	r := &regionRules{
		region:  m.GetId(),
		cc:      strconv.Itoa(int(m.GetCountryCode())),
		general: compileDesc(m.GetGeneralDesc()),
		// A region that shares its country code (NANPA's +1, +44 with the
		// Crown dependencies) resolves numbers across several regions.
		fastOK: m.GetNationalPrefixTransformRule() == "" &&
			len(phonenumbers.GetRegionCodesForCountryCode(int(m.GetCountryCode()))) == 1,
	}
	if idd := m.GetInternationalPrefix(); idd != "" {
		// The library looks for the prefix at the very start of the number.
		r.idd = newDigitMatcher("^(?:"+idd+")", true)
	}
	if np := m.GetNationalPrefixForParsing(); np != "" {
		r.prefixRe = newDigitMatcher("^(?:"+np+")", true)
		if plainDigits.MatchString(np) {
			r.nationalPrefix = np
		} else {
			r.fastOK = false
		}
	}
	descs := []*phonenumbers.PhoneNumberDesc{
		m.GetFixedLine(), m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
		m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail(),
	}
	if !m.GetSameMobileAndFixedLinePattern() {
		// getNumberTypeHelper only tries mobile when its pattern differs
		// from fixed line.
		descs = append([]*phonenumbers.PhoneNumberDesc{m.GetMobile()}, descs...)
	}
	for _, d := range descs {
		if d == nil || d.GetNationalNumberPattern() == "" {
			continue // matches nothing, as in the library
		}
		r.types = append(r.types, compileDesc(d))
	}
	return r
}

func compileDesc(d *phonenumbers.PhoneNumberDesc) descRule {
	return descRule{
		lengths: d.PossibleLength,
		re:      newDigitMatcher("^(?:"+d.GetNationalNumberPattern()+")$", false),
	}
}
