package apply

import "testing"

func TestBreaker(t *testing.T) {
	cfg := Breaker{Window: 10, MinSamples: 5, MaxShare: 0.5, MaxConsecutive: 3}
	tests := []struct {
		name     string
		outcomes string // s = success, f = failure
		tripAt   int    // index of the outcome that trips it, -1 for never
	}{
		{"all good", "ssssssssssssssss", -1},
		{"consecutive", "ssfff", 4},
		{"share needs samples", "fsfs", -1},
		{"share", "fsfsf", 4},
		{"window forgets", "ffsffsssssssssssssssffs", 4},
		{"below share", "fssfssfssfssfss", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker(cfg)
			got := -1
			for i, c := range tt.outcomes {
				if trip, _ := b.record(c == 'f'); trip && got < 0 {
					got = i
				}
			}
			if got != tt.tripAt {
				t.Errorf("tripped at %d, want %d", got, tt.tripAt)
			}
		})
	}
}
