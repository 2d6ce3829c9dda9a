package report

import (
	"math"
	"testing"
)

// TestNewcombe checks the interval against the worked examples of
// Newcombe (1998), Table II, method 10, given to four decimals, and the
// Wilson intervals against the same paper's Table I (method 3).
func TestNewcombe(t *testing.T) {
	for _, tt := range []struct {
		x1, n1, x2, n2 int
		low, high      float64
	}{
		{56, 70, 48, 80, 0.0524, 0.3339},
		{9, 10, 3, 10, 0.1705, 0.8090},
		{5, 56, 0, 29, -0.0381, 0.1926},
		{0, 10, 0, 20, -0.1611, 0.2775},
		{0, 10, 0, 10, -0.2775, 0.2775},
		{10, 10, 0, 20, 0.6791, 1.0000},
		{10, 10, 0, 10, 0.6075, 1.0000},
	} {
		low, high := Newcombe(tt.x1, tt.n1, tt.x2, tt.n2)
		if math.Abs(low-tt.low) > 0.00005 || math.Abs(high-tt.high) > 0.00005 {
			t.Errorf("Newcombe(%d/%d - %d/%d) = %.4f, %.4f; want %.4f, %.4f", tt.x1, tt.n1, tt.x2, tt.n2, low, high, tt.low, tt.high)
		}
	}
	for _, tt := range []struct {
		x, n      int
		low, high float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		low, high := Wilson(tt.x, tt.n)
		if math.Abs(low-tt.low) > 0.00005 || math.Abs(high-tt.high) > 0.00005 {
			t.Errorf("Wilson(%d/%d) = %.4f, %.4f; want %.4f, %.4f", tt.x, tt.n, low, high, tt.low, tt.high)
		}
	}
}
