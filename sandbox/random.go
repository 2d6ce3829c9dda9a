package sandbox

// The sandbox's randomness is a pure function of the seed and what is drawn
// for: a request's sequence number for per-request faults, a phone number
// for per-recipient traits, a phone number and message digest for answers.
// Nothing is shared between goroutines, so draws take no lock, and a serial
// client sees the same outcomes on every run with the same seed.

// Purposes, so that draws for different decisions are independent.
const (
	drawFail5xx     = "fail-5xx"
	drawStatus5xx   = "status-5xx"
	drawDrop        = "drop"
	drawAccept500   = "accept-then-500"
	drawAccept504   = "accept-then-504"
	drawLimitWithID = "rate-limit-with-id"
	drawBare        = "bare-answer"
	drawNullID      = "null-id"
	drawFailLater   = "fail-later"
	drawFailedOK    = "failed-answer"
	drawRead5xx     = "read-fail-5xx"
	drawRead429     = "read-rate-limited"
	drawProvider    = "provider-fail"
	drawProviderErr = "provider-code"
	drawJitter      = "jitter"
	drawUnreachable = "unreachable"
	drawSilent      = "silent"
	drawOptOut      = "opt-out"
	drawChoice      = "choice"
	drawDelay       = "delay"
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// unit returns a number in [0, 1) determined by seed, purpose, n and parts.
func unit(seed uint64, purpose string, n uint64, parts ...string) float64 {
	h := uint64(fnvOffset)
	h = mixBytes(h, purpose)
	for _, p := range parts {
		h = mixBytes(h, p)
	}
	h = splitmix(h ^ splitmix(seed) ^ splitmix(n+0x9e3779b97f4a7c15))
	return float64(h>>11) / (1 << 53)
}

// mixBytes folds s and a terminator into an FNV-1a hash, so that ("ab","c")
// and ("a","bc") differ.
func mixBytes(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	h ^= 0xff
	h *= fnvPrime
	return h
}

// splitmix is SplitMix64's finaliser: a bijection that spreads every input
// bit over the output.
func splitmix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
