package state

import (
	"sync"
	"sync/atomic"
)

// variantID stands for a variant name in a rec: a campaign has a few
// variants and a million sends, so each send holds a small number instead
// of the name. 0 is no variant.
type variantID uint16

// variants interns the variant names of every rec in the process. The
// names are read without a lock (a copy-on-write slice) and added under
// one, rarely: once per distinct name.
var variants struct {
	mu    sync.Mutex
	ids   map[string]variantID
	names atomic.Pointer[[]string] // names[id-1]
}

// maxVariants is how many distinct variant names the process can hold.
const maxVariants = 1<<16 - 1

// internVariant returns the id of name, adding it when new. Past
// maxVariants distinct names, which no configuration comes near, it panics
// rather than mix up two variants.
func internVariant(name string) variantID {
	if name == "" {
		return 0
	}
	if p := variants.names.Load(); p != nil {
		// Most calls find one of the first few names.
		for i, n := range *p {
			if n == name {
				return variantID(i + 1)
			}
			if i >= 8 {
				break
			}
		}
	}
	variants.mu.Lock()
	defer variants.mu.Unlock()
	if id, ok := variants.ids[name]; ok {
		return id
	}
	var names []string
	if p := variants.names.Load(); p != nil {
		names = *p
	}
	if len(names) >= maxVariants {
		panic("state: too many distinct variant names")
	}
	if variants.ids == nil {
		variants.ids = map[string]variantID{}
	}
	// A new slice, so that readers of the old one never see it change.
	next := append(names[:len(names):len(names)], name)
	id := variantID(len(next))
	variants.ids[name] = id
	variants.names.Store(&next)
	return id
}

// name returns the variant name id stands for.
func (id variantID) name() string {
	if id == 0 {
		return ""
	}
	return (*variants.names.Load())[id-1]
}
