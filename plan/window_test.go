package plan

import (
	"testing"
	"time"
)

func TestNextInWindow(t *testing.T) {
	dar, err := time.LoadLocation("Africa/Dar_es_Salaam")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	h := time.Hour
	tests := []struct {
		name     string
		t        string
		from, to time.Duration
		loc      *time.Location
		want     string
	}{
		{"before opening", "2026-11-27T06:30:00+03:00", 9 * h, 19 * h, dar, "2026-11-27T09:00:00+03:00"},
		{"inside", "2026-11-27T12:00:00+03:00", 9 * h, 19 * h, dar, "2026-11-27T12:00:00+03:00"},
		{"at opening", "2026-11-27T09:00:00+03:00", 9 * h, 19 * h, dar, "2026-11-27T09:00:00+03:00"},
		{"at closing is closed", "2026-11-27T19:00:00+03:00", 9 * h, 19 * h, dar, "2026-11-28T09:00:00+03:00"},
		{"after closing", "2026-11-27T22:10:00+03:00", 9 * h, 19 * h, dar, "2026-11-28T09:00:00+03:00"},
		{"utc instant, local window", "2026-11-27T05:00:00Z", 9 * h, 19 * h, dar, "2026-11-27T09:00:00+03:00"},
		{"overnight, late", "2026-11-27T23:00:00+03:00", 20 * h, 6 * h, dar, "2026-11-27T23:00:00+03:00"},
		{"overnight, early", "2026-11-27T05:59:00+03:00", 20 * h, 6 * h, dar, "2026-11-27T05:59:00+03:00"},
		{"overnight, closed", "2026-11-27T12:00:00+03:00", 20 * h, 6 * h, dar, "2026-11-27T20:00:00+03:00"},
		{"always open", "2026-11-27T03:00:00+03:00", 0, 0, dar, "2026-11-27T03:00:00+03:00"},
		{"half hours", "2026-11-27T09:10:00+03:00", 9*h + 30*time.Minute, 17 * h, dar, "2026-11-27T09:30:00+03:00"},
		{"month end", "2026-11-30T20:00:00+03:00", 9 * h, 19 * h, dar, "2026-12-01T09:00:00+03:00"},
		// 2026-03-08 is the spring-forward day in New York: 09:00 is EDT.
		{"dst day", "2026-03-08T01:00:00-05:00", 9 * h, 17 * h, ny, "2026-03-08T09:00:00-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := time.Parse(time.RFC3339, tt.t)
			want, _ := time.Parse(time.RFC3339, tt.want)
			got := nextInWindow(in, tt.from, tt.to, tt.loc)
			if !got.Equal(want) {
				t.Errorf("nextInWindow(%s) = %s, want %s", tt.t, got.Format(time.RFC3339), tt.want)
			}
		})
	}
}
