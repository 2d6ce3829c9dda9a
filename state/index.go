package state

import "github.com/cespare/xxhash/v2"

// index maps a group's recipient keys to positions in its recs: an
// open-addressing table with linear probing, whose slots hold the high 32
// bits of the key's hash and 1 + the position (0: empty). It keeps no key
// of its own (keys are in the text entries) and no pointer, so it costs the
// collector nothing and 8 bytes a slot.
//
// The indexes of one campaign's messages are the columns of one table: a
// key's slots in every message start in the same row, one cache line, and
// plan, which looks a recipient up in each message in turn, waits for
// memory once per recipient instead of once per send. Columns are as long
// as the longest needs.
type index struct {
	t   *table
	col int
	n   int // keys held
}

// table holds the indexes of one campaign's messages.
type table struct {
	slots []uint64 // the slot of row i in column c is slots[i*cols+c]
	rows  int      // a power of two, or 0
	cols  int
	names map[string]int // each message's column
}

// hashKey is the same in every process, so that an image (image.go) can
// keep a table's slots.
func hashKey(key string) uint64 { return xxhash.Sum64String(key) >> 32 }

// column returns the index of message in t, adding a column if it has none.
func (t *table) column(message string) index {
	if c, ok := t.names[message]; ok {
		return index{t: t, col: c}
	}
	if t.names == nil {
		t.names = map[string]int{}
	}
	t.names[message] = t.cols
	if t.rows > 0 {
		wider := make([]uint64, t.rows*(t.cols+1))
		for i := range t.rows {
			copy(wider[i*(t.cols+1):], t.slots[i*t.cols:(i+1)*t.cols])
		}
		t.slots = wider
	}
	t.cols++
	return index{t: t, col: t.cols - 1}
}

// slot returns the slot of row i in x's column.
func (x *index) slot(i uint64) *uint64 { return &x.t.slots[int(i)*x.t.cols+x.col] }

// reserve makes room for n keys in x without growing.
func (x *index) reserve(n int) {
	t := x.t
	rows := 16
	for rows*3/4 < n {
		rows *= 2
	}
	if rows <= t.rows {
		return
	}
	old, oldRows := t.slots, t.rows
	t.slots, t.rows = make([]uint64, rows*t.cols), rows
	for c := range t.cols {
		y := index{t: t, col: c}
		for i := range oldRows {
			if s := old[i*t.cols+c]; s != 0 {
				y.place(s)
			}
		}
	}
}

// place puts slot value s in the first free slot from its hash's row on.
func (x *index) place(s uint64) {
	mask := uint64(x.t.rows - 1)
	for i := (s >> 32) & mask; ; i = (i + 1) & mask {
		if p := x.slot(i); *p == 0 {
			*p = s
			return
		}
	}
}

// lookup returns the row of key's slot, or of the free slot where it would
// go, and whether it is there.
func (x *index) lookup(g *group, key string) (uint64, bool) {
	if x.t.rows == 0 {
		return 0, false
	}
	h := hashKey(key)
	mask := uint64(x.t.rows - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := *x.slot(i)
		if s == 0 {
			return i, false
		}
		if s>>32 == h && g.keyOf(&g.recs[uint32(s)-1]) == key {
			return i, true
		}
	}
}

func (x *index) find(g *group, key string) int {
	if i, ok := x.lookup(g, key); ok {
		return int(uint32(*x.slot(i))) - 1
	}
	return -1
}

// insert adds the key of the rec at pos unless it is there already, and
// reports whether it added it.
func (x *index) insert(g *group, pos int) bool {
	x.reserve(x.n + 1)
	key := g.keyOf(&g.recs[pos])
	i, ok := x.lookup(g, key)
	if ok {
		return false
	}
	*x.slot(i) = hashKey(key)<<32 | uint64(pos+1)
	x.n++
	return true
}

// move points key, which x holds at position from, at position to.
func (x *index) move(key string, from, to int) {
	h := hashKey(key)
	mask := uint64(x.t.rows - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		if p := x.slot(i); *p == h<<32|uint64(from+1) {
			*p = h<<32 | uint64(to+1)
			return
		}
	}
}

// remove takes key, which x holds, out, moving back the slots after it
// that belong nearer their hash (deletion without tombstones).
func (x *index) remove(g *group, key string) {
	i, ok := x.lookup(g, key)
	if !ok {
		return
	}
	mask := uint64(x.t.rows - 1)
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := *x.slot(j)
		if s == 0 {
			break
		}
		// s may move to i if i lies cyclically in [its row, j).
		if home := (s >> 32) & mask; (j-home)&mask >= (j-i)&mask {
			*x.slot(i) = s
			i = j
		}
	}
	*x.slot(i) = 0
	x.n--
}
