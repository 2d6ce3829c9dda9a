package refresh

import "testing"

// TestIsOptOut: an opt-out keyword is recognised whatever its case, its
// punctuation and its compatibility form, and at the start or end of a
// short answer ("Stop promotions", the usual opt-out button); a sentence
// that uses the word otherwise, or an answer without it, is not one.
func TestIsOptOut(t *testing.T) {
	r := newRun(nil, nil, Options{OptOutKeywords: []string{"STOP", "unsubscribe", " acha kabisa "}})
	for text, want := range map[string]bool{
		"STOP":                          true,
		" stop ":                        true,
		"Stop.":                         true,
		"STOP!":                         true,
		"ＳＴＯＰ":                          true,
		"stop please":                   true,
		"Please stop":                   true,
		"Stop promotions":               true,
		"Unsubscribe me":                true,
		"Acha kabisa!":                  true,
		"acha kabisa sasa":              true,
		"yes":                           false,
		"stopwatch":                     false,
		"acha":                          false,
		"I will stop by the shop later": false,
		"can you not stop the deal":     false,
		"":                              false,
	} {
		if got := r.isOptOut(text, ""); got != want {
			t.Errorf("isOptOut(%q) = %v, want %v", text, got, want)
		}
	}
	if !r.isOptOut("", "STOP") || r.isOptOut("", "yes") {
		t.Error("a button's id is not read as an opt-out keyword")
	}
}
