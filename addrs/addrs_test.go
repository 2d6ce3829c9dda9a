package addrs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAddrString(t *testing.T) {
	tests := []struct {
		key, want string
	}{
		{"C-1042", `campaign.black_friday.message.ask["C-1042"]`},
		{`say "hi"`, `campaign.black_friday.message.ask["say \"hi\""]`},
		{`back\slash`, `campaign.black_friday.message.ask["back\\slash"]`},
		{"two\nlines", `campaign.black_friday.message.ask["two\nlines"]`},
		{"${var}", `campaign.black_friday.message.ask["$${var}"]`},
		{"%{if}", `campaign.black_friday.message.ask["%%{if}"]`},
		{"$5", `campaign.black_friday.message.ask["$5"]`},
		{"Amélie", `campaign.black_friday.message.ask["Amélie"]`},
		{"bell\a", `campaign.black_friday.message.ask["bell\u0007"]`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			a := Addr{"black_friday", "ask", tt.key}
			if got := a.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			p, err := ParsePattern(a.String())
			if err != nil {
				t.Fatalf("ParsePattern(%s): %v", a, err)
			}
			if d := cmp.Diff(a.Pattern(), p); d != "" {
				t.Errorf("ParsePattern(String()) round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in   string
		want Pattern
	}{
		{"campaign.black_friday", Pattern{Campaign: "black_friday"}},
		{"campaign.black_friday.message.ask", Pattern{Campaign: "black_friday", Message: "ask"}},
		{`campaign.black_friday.message.ask["C-1042"]`, Pattern{"black_friday", "ask", "C-1042"}},
		{`campaign.b-f.message.ask_2["\u00e9"]`, Pattern{"b-f", "ask_2", "é"}},
		{`campaign.x.message.y[1042]`, Pattern{"x", "y", "1042"}},
		{` campaign.x `, Pattern{Campaign: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePattern(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			back, err := ParsePattern(got.String())
			if err != nil || back != got {
				t.Errorf("ParsePattern(%q) = %v, %v; want %v", got.String(), back, err, got)
			}
		})
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "invalid address"},
		{"campaign", "expected campaign.NAME"},
		{"message.x", "expected campaign.NAME"},
		{"campaign.x.msg.y", "expected campaign.NAME"},
		{"campaign.x.message", "expected campaign.NAME"},
		{`campaign.x["k"]`, "expected campaign.NAME"},
		{`campaign.x.message.y["k"].z`, "expected campaign.NAME"},
		{`campaign.x.message.y[""]`, "recipient key is empty"},
		{`campaign.x.message.y["k"`, "column"},
		{`campaign.x.message.y["${k}"]`, "invalid address"},
		{`campaign.x.message.y[k]`, "invalid address"},
		{`campaign.x.message.y[*]`, "invalid address"},
		{`campaign.x.message.y["` + strings.Repeat("k", MaxKey+1) + `"]`, "longer than"},
		{`campaign.x.message.y[1e99999]`, "longer than"},
		{`campaign.café`, "not a valid campaign name"},
		{`campaign.x.message.2y`, "expected a name"},
		{`campaign.x.message.y["\q"]`, "escape"},
		{`campaign.x.message.y["\u00e"]`, "4 hexadecimal"},
		{`campaign.x.message.y["\ud800"]`, "cannot encode"},
		{"campaign.x.message.y[\"a\nb\"]", "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParsePattern(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePattern(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestPatternMatch(t *testing.T) {
	a := Addr{"bf", "ask", "K1"}
	tests := []struct {
		p    Pattern
		want bool
	}{
		{Pattern{}, true},
		{Pattern{Campaign: "bf"}, true},
		{Pattern{Campaign: "other"}, false},
		{Pattern{Campaign: "bf", Message: "ask"}, true},
		{Pattern{Campaign: "bf", Message: "thanks"}, false},
		{Pattern{"bf", "ask", "K1"}, true},
		{Pattern{"bf", "ask", "K2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.p.String(), func(t *testing.T) {
			if got := tt.p.Match(a); got != tt.want {
				t.Errorf("%v.Match(%v) = %v, want %v", tt.p, a, got, tt.want)
			}
		})
	}
}

func TestMatchAny(t *testing.T) {
	a := Addr{"bf", "ask", "K1"}
	if MatchAny(nil, a) {
		t.Error("no pattern matched")
	}
	if MatchAny([]Pattern{{Campaign: "other"}, {"bf", "ask", "K2"}}, a) {
		t.Error("patterns that select other sends matched")
	}
	if !MatchAny([]Pattern{{Campaign: "other"}, {Campaign: "bf", Message: "ask"}}, a) {
		t.Error("the second pattern, which selects it, did not match")
	}
}

func TestPatternContainsAndDepth(t *testing.T) {
	all, camp, msg, send := Pattern{}, Pattern{Campaign: "bf"}, Pattern{Campaign: "bf", Message: "ask"}, Pattern{"bf", "ask", "K1"}
	ps := []Pattern{all, camp, msg, send}
	for i, p := range ps {
		if p.Depth() != i {
			t.Errorf("%v.Depth() = %d, want %d", p, p.Depth(), i)
		}
		for j, q := range ps {
			if got, want := p.Contains(q), i <= j; got != want {
				t.Errorf("%v.Contains(%v) = %v, want %v", p, q, got, want)
			}
		}
	}
	for p, q := range map[Pattern]Pattern{camp: {Campaign: "bf2"}, msg: {Campaign: "bf", Message: "ask2"}, send: {"bf", "ask", "K2"}} {
		if p.Contains(q) {
			t.Errorf("%v.Contains(%v), another name at its depth", p, q)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		p    Pattern
		want string // "" for valid
	}{
		{Pattern{}, ""},
		{Pattern{Campaign: "b-f_2"}, ""},
		{Pattern{"bf", "ask", "Amélie"}, ""},
		{Pattern{Message: "ask"}, "skips a level"},
		{Pattern{Campaign: "bf", Key: "k"}, "skips a level"},
		{Pattern{Campaign: "café"}, "campaign name"},
		{Pattern{Campaign: "2bf"}, "campaign name"},
		{Pattern{Campaign: "bf", Message: "-ask"}, "message name"},
		{Pattern{"bf", "ask", "Ame\u0301lie"}, "normal form C"},
		{Pattern{"bf", "ask", "\xff"}, "not valid UTF-8"},
		{Pattern{"bf", "ask", strings.Repeat("k", MaxKey+1)}, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.p.String(), func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	if err := (Addr{Campaign: "bf", Message: "ask"}).Validate(); err == nil || !strings.Contains(err.Error(), "key is empty") {
		t.Errorf("Validate of an address without a key = %v", err)
	}
}

func FuzzAddrRoundTrip(f *testing.F) {
	for _, k := range []string{"C-1042", `"`, `\`, "${", "%{", "\x00", "é", "\u2028", "\U0001F600"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		a := Addr{"black_friday", "ask", key}
		if a.Validate() != nil {
			return
		}
		p, err := ParsePattern(a.String())
		if err != nil {
			t.Fatalf("ParsePattern(%s): %v", a, err)
		}
		if p != a.Pattern() {
			t.Fatalf("round trip of %q gave %q", key, p.Key)
		}
	})
}
