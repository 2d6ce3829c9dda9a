package phone

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestDigitMatcherAgreesWithRegexp compiles every pattern of the phone
// metadata, whole-string and prefix, and compares the automaton with package
// regexp on random digit strings of every plausible length and on the
// example numbers.
func TestDigitMatcherAgreesWithRegexp(t *testing.T) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewSource(1))
	type pattern struct {
		re     string
		prefix bool
	}
	var patterns []pattern
	for _, m := range coll.GetMetadata() {
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetGeneralDesc(), m.GetFixedLine(), m.GetMobile(), m.GetTollFree(),
			m.GetPremiumRate(), m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
			if p := d.GetNationalNumberPattern(); p != "" {
				patterns = append(patterns, pattern{"^(?:" + p + ")$", false})
			}
		}
		for _, p := range []string{m.GetInternationalPrefix(), m.GetNationalPrefixForParsing()} {
			if p != "" {
				patterns = append(patterns, pattern{"^(?:" + p + ")", true})
			}
		}
	}
	samples := 60
	if testing.Short() {
		samples = 10
	}
	withDFA := 0
	for _, p := range patterns {
		m := newDigitMatcher(p.re, p.prefix)
		if m.dfa != nil {
			withDFA++
		}
		var inputs []string
		for range samples {
			var b strings.Builder
			for range rnd.Intn(18) {
				b.WriteByte(byte('0' + rnd.Intn(10)))
			}
			inputs = append(inputs, b.String())
		}
		// Strings the pattern matches are rare among random ones: walk
		// the automaton along accepted paths to find some.
		inputs = append(inputs, acceptedSamples(m, rnd, samples/4)...)
		for _, in := range inputs {
			if got, want := m.MatchString(in), m.re.MatchString(in); got != want {
				t.Errorf("pattern %s, input %q: automaton %v, regexp %v", p.re, in, got, want)
			}
		}
	}
	if withDFA < len(patterns)*9/10 {
		t.Errorf("only %d of %d patterns compiled to an automaton", withDFA, len(patterns))
	}
}

// acceptedSamples returns up to n strings that lead to accepting states,
// found by random walks through m's automaton.
func acceptedSamples(m *digitMatcher, rnd *rand.Rand, n int) []string {
	if m.dfa == nil {
		return nil
	}
	var out []string
	for range n * 4 {
		state, s := int32(0), []byte{}
		for len(s) < 20 {
			if m.accept[state] && rnd.Intn(3) == 0 {
				break
			}
			var live []int
			for d, next := range m.dfa[state] {
				if next >= 0 {
					live = append(live, d)
				}
			}
			if len(live) == 0 {
				break
			}
			d := live[rnd.Intn(len(live))]
			state, s = m.dfa[state][d], append(s, byte('0'+d))
		}
		out = append(out, string(s))
		if len(out) == n {
			break
		}
	}
	return out
}
