package phone

import (
	"fmt"
	"regexp"
	"testing"
)

// benchNumbers are the shapes of a typical Tanzanian list.
var benchNumbers = func() []string {
	var out []string
	for i := range 1000 {
		sub := 1_000_000 + i*7919%9_000_000
		switch i % 4 {
		case 0:
			out = append(out, fmt.Sprintf("25571%07d", sub))
		case 1:
			out = append(out, fmt.Sprintf("+255 71%d %03d %03d", sub/1_000_000, sub/1000%1000, sub%1000))
		case 2:
			out = append(out, fmt.Sprintf("071%07d", sub))
		default:
			out = append(out, fmt.Sprintf("071%d-%03d-%03d", sub/1_000_000, sub/1000%1000, sub%1000))
		}
	}
	return out
}()

// BenchmarkNormalize compares the fast path with the library alone on the
// same numbers: the figure that justifies the fast path.
func BenchmarkNormalize(b *testing.B) {
	for _, tt := range []struct {
		name string
		f    func(n *Normalizer, s string) (string, error)
	}{
		{"fast", (*Normalizer).Normalize},
		{"library", (*Normalizer).slow},
	} {
		b.Run(tt.name, func(b *testing.B) {
			n := New("TZ")
			i := 0
			for b.Loop() {
				if _, err := tt.f(n, benchNumbers[i%len(benchNumbers)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkDigitMatcher compares the digit automaton with package regexp
// on a national number pattern of the metadata: the figure that justifies
// digitdfa.go.
func BenchmarkDigitMatcher(b *testing.B) {
	const pattern = `^(?:(?:6[125-9]|7[13-9])\d{7})$` // TZ mobile
	m, re := newDigitMatcher(pattern, false), regexp.MustCompile(pattern)
	for _, tt := range []struct {
		name  string
		match func(string) bool
	}{{"dfa", m.MatchString}, {"regexp", re.MatchString}} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if !tt.match("712345678") {
					b.Fatal("no match")
				}
			}
		})
	}
}
