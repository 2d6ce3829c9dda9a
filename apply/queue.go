package apply

import (
	"sync"

	"github.com/ujumbe/ujumbe/plan"
)

// queue hands out work to the workers. A worker that must try an item again
// puts it back when it finishes; the queue is drained only when it is empty
// and no worker holds an item that could come back.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []*work
	busy   int // items handed out and not finished
	closed bool
}

func newQueue(items []*plan.Item) *queue {
	q := &queue{items: make([]*work, len(items))}
	for i, it := range items {
		q.items[i] = &work{item: it}
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// pop returns the next item, or nil when the run is over.
func (q *queue) pop() *work {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && q.busy > 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed || len(q.items) == 0 {
		return nil
	}
	w := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	q.busy++
	return w
}

// finish ends a popped item; again, when not nil, goes back in the queue.
func (q *queue) finish(again *work) {
	q.mu.Lock()
	q.busy--
	if again != nil && !q.closed {
		q.items = append(q.items, again)
	}
	q.mu.Unlock()
	q.cond.Broadcast()
}

// close stops handing out items.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
