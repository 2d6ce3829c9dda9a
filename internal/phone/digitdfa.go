package phone

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// digitMatcher matches whole strings of ASCII digits against a pattern.
// Phone number metadata is a few hundred patterns over digits, matched a
// few times per number; package regexp costs about 250 ns per match there,
// which made pattern matching most of the cost of loading a large CSV. So
// each pattern is compiled once into a deterministic automaton over the ten
// digits (subset construction over regexp/syntax's program): a match is then
// one table lookup per digit. Patterns the construction does not handle
// (assertions other than ^ and $, too many states) keep using package
// regexp. TestDigitMatcherAgreesWithRegexp checks the two agree on every
// pattern of the metadata.
type digitMatcher struct {
	re *regexp.Regexp // used when dfa is nil, and for non-digit input
	// prefix is set for patterns anchored only at the start (^(?:...)),
	// which match when any prefix of the input does.
	prefix bool

	dfa    [][10]int32 // state -> digit -> next state, -1 when none
	accept []bool      // whether a state matches at the end of the input
	// within says whether a state matches before the end of the input,
	// for prefix patterns.
	within []bool
}

// maxDFAStates bounds the automaton of one pattern.
const maxDFAStates = 4096

// newDigitMatcher compiles pattern, which must be anchored at the start;
// prefix says it is not anchored at the end.
func newDigitMatcher(pattern string, prefix bool) *digitMatcher {
	m := &digitMatcher{re: regexp.MustCompile(pattern), prefix: prefix}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return m
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return m
	}
	m.build(prog)
	return m
}

// MatchString reports whether s matches the pattern.
func (m *digitMatcher) MatchString(s string) bool {
	if m.dfa == nil {
		return m.re.MatchString(s)
	}
	state := int32(0)
	for i := 0; i < len(s); i++ {
		if m.prefix && m.within[state] {
			return true
		}
		c := s[i] - '0'
		if c > 9 {
			return m.re.MatchString(s)
		}
		if state = m.dfa[state][c]; state < 0 {
			return false
		}
	}
	return m.accept[state]
}

// build runs the subset construction; it leaves m.dfa nil when the program
// uses anything it does not model.
func (m *digitMatcher) build(prog *syntax.Prog) {
	var ok = true
	// closure adds pc and every instruction reachable from it without
	// consuming input, given whether the position is the start and the end
	// of the input. It reports instructions it cannot model through ok.
	var closure func(set map[uint32]bool, pc uint32, begin, end bool)
	closure = func(set map[uint32]bool, pc uint32, begin, end bool) {
		if set[pc] {
			return
		}
		set[pc] = true
		inst := &prog.Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			closure(set, inst.Out, begin, end)
			closure(set, inst.Arg, begin, end)
		case syntax.InstNop, syntax.InstCapture:
			closure(set, inst.Out, begin, end)
		case syntax.InstEmptyWidth:
			switch syntax.EmptyOp(inst.Arg) {
			case syntax.EmptyBeginText:
				if begin {
					closure(set, inst.Out, begin, end)
				}
			case syntax.EmptyEndText:
				if end {
					closure(set, inst.Out, begin, end)
				}
			default:
				ok = false
			}
		}
	}
	key := func(set map[uint32]bool) string {
		pcs := make([]int, 0, len(set))
		for pc := range set {
			pcs = append(pcs, int(pc))
		}
		slices.Sort(pcs)
		var b strings.Builder
		for _, pc := range pcs {
			b.WriteString(strconv.Itoa(pc))
			b.WriteByte(',')
		}
		return b.String()
	}
	// A state is the set of instructions active before the next digit,
	// closed over everything but the end-of-text assertion, which only
	// decides acceptance.
	start := map[uint32]bool{}
	closure(start, uint32(prog.Start), true, false)
	states := []map[uint32]bool{start}
	index := map[string]int32{key(start): 0}
	for i := 0; i < len(states); i++ {
		if !ok || len(states) > maxDFAStates {
			m.dfa, m.accept, m.within = nil, nil, nil
			return
		}
		set := states[i]
		// Acceptance: the closure at the end of the input reaches Match;
		// within the input, the state itself holds Match.
		end := map[uint32]bool{}
		for pc := range set {
			closure(end, pc, i == 0, true)
		}
		accept, within := false, false
		for pc := range end {
			if prog.Inst[pc].Op == syntax.InstMatch {
				accept = true
			}
		}
		for pc := range set {
			if prog.Inst[pc].Op == syntax.InstMatch {
				within = true
			}
		}
		var row [10]int32
		for d := range 10 {
			next := map[uint32]bool{}
			for pc := range set {
				inst := &prog.Inst[pc]
				switch inst.Op {
				case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
					if inst.MatchRune(rune('0' + d)) {
						closure(next, inst.Out, false, false)
					}
				}
			}
			if len(next) == 0 {
				row[d] = -1
				continue
			}
			k := key(next)
			j, seen := index[k]
			if !seen {
				j = int32(len(states))
				index[k] = j
				states = append(states, next)
			}
			row[d] = j
		}
		m.dfa = append(m.dfa, row)
		m.accept = append(m.accept, accept)
		m.within = append(m.within, within)
	}
	if !ok {
		m.dfa, m.accept, m.within = nil, nil, nil
	}
}
