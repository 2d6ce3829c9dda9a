package config

import (
	"testing"
	"time"
)

func TestParseDelay(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10m", 10 * time.Minute, true},
		{"20h", 20 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"2d", 48 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"0s", 0, true},
		{" 3d ", 72 * time.Hour, true},
		{"", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"-1h", 0, false},
		{"1d-2h", 0, false},
		{"ten minutes", 0, false},
		{"10", 0, false},
		{"366d", maxDelay, true},
		{"365d24h", maxDelay, true},
		{"366d1ns", 0, false},
		{"367d", 0, false},
		{"65535d2000000h", 0, false},
		{"9999999999999h", 0, false},
		{"1d9000000h", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDelay(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDelay(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseClock(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:00", 0, true},
		{"09:00", 9 * time.Hour, true},
		{"19:30", 19*time.Hour + 30*time.Minute, true},
		{"24:00", 24 * time.Hour, true},
		{"24:01", 0, false},
		{"9:00", 0, false},
		{"09:60", 0, false},
		{"9am", 0, false},
		{"-1:00", 0, false},
	}
	for _, tt := range tests {
		got, err := parseClock(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseClock(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
