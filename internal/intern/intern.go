// Package intern numbers the few distinct values of a string field that
// millions of records hold, such as variant names, so that each record
// keeps a 2-byte number, often in what would be padding, instead of a
// 16-byte string header. It imports no ujumbe package.
package intern

import (
	"sync"
	"sync/atomic"
)

// Table numbers strings from 1 in the order first seen; 0 is "". Its zero
// value is empty and ready. Numbers are read without a lock (a
// copy-on-write slice) and added under one, once per distinct string. A
// table only grows: it is meant for process-wide tables of few values.
type Table struct {
	mu    sync.Mutex
	ids   map[string]uint16
	names atomic.Pointer[[]string] // names[id-1]
}

// Max is how many distinct strings a Table holds.
const Max = 1<<16 - 1

// ID returns the number of s, adding it when new. Past Max distinct
// strings, which the values it is meant for never come near, it panics
// rather than give two strings one number.
func (t *Table) ID(s string) uint16 {
	if s == "" {
		return 0
	}
	if p := t.names.Load(); p != nil {
		// Most calls find one of the first few strings.
		for i, n := range (*p)[:min(len(*p), 8)] {
			if n == s {
				return uint16(i + 1)
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[s]; ok {
		return id
	}
	var names []string
	if p := t.names.Load(); p != nil {
		names = *p
	}
	if len(names) >= Max {
		panic("intern: more than 65535 distinct strings")
	}
	if t.ids == nil {
		t.ids = map[string]uint16{}
	}
	// A new slice, so that readers of the old one never see it change.
	next := append(names[:len(names):len(names)], s)
	id := uint16(len(next))
	t.ids[s] = id
	t.names.Store(&next)
	return id
}

// Name returns the string numbered id, "" for 0.
func (t *Table) Name(id uint16) string {
	if id == 0 {
		return ""
	}
	return (*t.names.Load())[id-1]
}
