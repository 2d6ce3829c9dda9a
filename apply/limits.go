package apply

import (
	"sync"

	"github.com/ujumbe/ujumbe/plan"
)

// Budget bounds the counted sends (plan.Counted: templates, new
// conversations) of a run: what the number's messaging tier
// (daily_first_contacts) still allows in the rolling 24 hours, as
// plan.TierLeft works it out from the state when the run starts. It is
// safe for concurrent use.
type Budget struct {
	mu   sync.Mutex
	left int
}

// NewBudget returns a budget of left sends.
func NewBudget(left int) *Budget { return &Budget{left: max(left, 0)} }

// take uses one send of the budget for it, if it counts; false when none
// is left. A send taken is not given back when it fails: the next plan
// counts from the state, which only counts what may have been accepted.
func (b *Budget) take(it *plan.Item) bool {
	if b == nil || !plan.Counted(it.Message) {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left == 0 {
		return false
	}
	b.left--
	return true
}
