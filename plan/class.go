package plan

// Class is what apply does with one send. Its values are the marks the plan
// prints (SPEC §3), all ASCII: a byte, for the million Items of a plan.
type Class byte

const (
	Send      Class = '+' // due now: apply sends it
	Scheduled Class = '>' // due later (delay, start_at, send window, waiting for a reply)
	Done      Class = '=' // accepted by the provider earlier with the same content
	Drift     Class = '~' // accepted earlier with different content: not resent
	Retry     Class = '!' // an earlier attempt failed transiently: sent again
	Unknown   Class = '?' // the outcome was never recorded: nothing until refresh resolves it
	Expired   Class = 'x' // the window closed, stop_at passed, a branch not taken or a permanent failure
	Orphan    Class = '-' // in the state but no longer wanted, or suppressed
)

// Classes lists every class in the order plans print them.
var Classes = []Class{Send, Retry, Scheduled, Done, Drift, Unknown, Expired, Orphan}

// String returns the class's mark.
func (c Class) String() string { return string(rune(c)) }

// Name returns the word the JSON plan uses for the class.
func (c Class) Name() string {
	switch c {
	case Send:
		return "send"
	case Scheduled:
		return "scheduled"
	case Done:
		return "done"
	case Drift:
		return "drift"
	case Retry:
		return "retry"
	case Unknown:
		return "unknown"
	case Expired:
		return "expired"
	case Orphan:
		return "orphan"
	}
	return "invalid"
}

// Sends reports whether apply sends items of this class.
func (c Class) Sends() bool { return c == Send || c == Retry }
