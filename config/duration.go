package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDelay bounds a delay: a follow-up a year after its message is a new
// campaign, and a bound keeps the sum of days and hours from overflowing.
const maxDelay = 366 * 24 * time.Hour

// parseDelay parses a delay: a Go duration ("10m", "1h30m") optionally led by
// a whole number of days ("2d", "1d12h"). Negative delays and delays over
// maxDelay are refused.
func parseDelay(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("the delay is empty")
	}
	tooLong := fmt.Errorf("%q is longer than the longest delay, 366 days", s)
	var days time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseUint(rest[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q is not a delay: days must be a whole number, as in \"2d\" or \"1d12h\"", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		if days > maxDelay {
			return 0, tooLong
		}
		rest = rest[i+1:]
	}
	if rest == "" {
		return days, nil
	}
	if strings.HasPrefix(rest, "-") {
		return 0, fmt.Errorf("%q is negative; a delay counts forward from the earlier message", s)
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		if strings.Trim(rest, "0123456789.nsuµmh") == "" && strings.ContainsAny(rest, "nsuµmh") {
			return 0, tooLong // well formed, but too large for a duration
		}
		return 0, fmt.Errorf("%q is not a delay; write it as in \"10m\", \"20h\", \"2d\" or \"1d12h\"", s)
	}
	if d > maxDelay-days {
		return 0, tooLong
	}
	return days + d, nil
}

// parseClock parses "HH:MM" (00:00 to 24:00) into the offset from midnight.
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	if ok && len(h) == 2 && len(m) == 2 {
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if err1 == nil && err2 == nil && hh >= 0 && mm >= 0 && mm < 60 && (hh < 24 || hh == 24 && mm == 0) {
			return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
		}
	}
	return 0, fmt.Errorf("%q is not a time of day; write it as \"HH:MM\", such as \"09:00\" or \"19:30\"", s)
}
