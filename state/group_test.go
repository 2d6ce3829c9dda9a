package state

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/ujumbe/ujumbe/addrs"
)

// randomText returns one of the kinds of text a state field meets: empty,
// a canonical UUID (kept in 16 bytes), UUIDs in other forms (kept as
// text), and text with quotes, escapes, control characters and
// non-ASCII, up to limit bytes.
func randomText(rng *rand.Rand, limit int) string {
	u := uuid.UUID{}
	for i := range u {
		u[i] = byte(rng.IntN(256))
	}
	switch rng.IntN(9) {
	case 0:
		return ""
	case 1, 2:
		return u.String()
	case 3:
		return strings.ToUpper(u.String())
	case 4:
		return "{" + u.String() + "}"
	case 5:
		return strings.ReplaceAll(u.String(), "-", "")
	case 6:
		return "wamid.HBgMMjU1NzEwMDAwMDAwFQIAERgS"
	case 7:
		return strings.Repeat("é\"\\\n\x01", rng.IntN(limit/7+1))
	}
	b := make([]byte, rng.IntN(40))
	for i := range b {
		b[i] = byte(' ' + rng.IntN(95))
	}
	return string(b)
}

// randomSend returns a send at a with every field drawn at random, times in
// whole milliseconds as the state keeps them.
func randomSend(rng *rand.Rand, a addrs.Addr) Send {
	at := func() time.Time {
		if rng.IntN(3) == 0 {
			return time.Time{}
		}
		return fromMillis(1_700_000_000_000 + rng.Int64N(1_000_000_000_000))
	}
	s := Send{Addr: a, Phone: a.Key, Attempts: rng.IntN(5), Outcome: Outcome(rng.IntN(6)),
		ProviderStatus: ProviderStatus(rng.IntN(6)), Variant: []string{"", "", "a", "b"}[rng.IntN(4)],
		IntentAt: at(), MessageID: randomText(rng, maxField), ConversationID: randomText(rng, maxField),
		ErrorCode: randomText(rng, maxField), ErrorMessage: randomText(rng, maxField),
		ResultAt: at(), UpdatedAt: at()}
	for i := range s.Digest {
		s.Digest[i] = byte(rng.IntN(256))
	}
	if rng.IntN(2) == 0 {
		s.Phone = randomText(rng, maxField)
	}
	if rng.IntN(4) == 0 {
		s.DeliveredAt, s.ReadAt = at(), at()
	}
	if rng.IntN(3) == 0 {
		s.Reply = &Reply{ID: randomText(rng, maxField), Title: randomText(rng, maxText), Text: randomText(rng, maxText),
			At: at(), MessageID: randomText(rng, maxField)}
	}
	if rng.IntN(4) == 0 {
		s.Window = Window{SeenAt: fromMillis(1_700_000_000_000 + rng.Int64N(1e12)), Open: rng.IntN(2) == 0, ExpiresAt: at()}
	}
	for range rng.IntN(3) {
		s.History = append(s.History, Attempt{At: at(), Outcome: Outcome(rng.IntN(6)), MessageID: randomText(rng, maxField),
			ConversationID: randomText(rng, maxField), ErrorCode: randomText(rng, maxField)})
	}
	return s
}

// TestDenseEqualsModel checks the dense store (recs in a slice, the
// indexes in a campaign's table, text entries, recMores) against a map of Sends, through random puts,
// replacements and removals: after each, every send reads back as it was
// put, absent ones are absent, and Sends yields the model in address order.
func TestDenseEqualsModel(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 12))
			st := newState()
			model := map[addrs.Addr]Send{}
			keys := 50 + rng.IntN(400) // few keys: many replacements and removals
			addrOf := func() addrs.Addr {
				// Three messages of one campaign share a table (added as
				// they come), a fourth is alone in another.
				m := []string{"c.m", "c.n", "c.o", "d.m"}[rng.IntN(4)]
				return addrs.Addr{Campaign: m[:1], Message: m[2:], Key: fmt.Sprintf("k%d", rng.IntN(keys))}
			}
			var cursor Cursor
			for op := range 3000 {
				a := addrOf()
				if _, ok := model[a]; ok && rng.IntN(4) == 0 {
					st.remove(st.lookup(a))
					delete(model, a)
				} else {
					s := randomSend(rng, a)
					_, pos := st.lookup(a)
					st.put(&s, pos)
					model[a] = s
				}
				if got, ok := st.Get(a); ok != (model[a].Addr == a) || ok && !gocmp.Equal(got, model[a]) {
					t.Fatalf("op %d: Get(%s) = %v, %v; want %v", op, a, got, ok, gocmp.Diff(model[a], got))
				}
				// Peek is Get without the ids.
				want := model[a]
				want.MessageID, want.ConversationID = "", ""
				if want.Reply != nil {
					r := *want.Reply
					r.MessageID = ""
					want.Reply = &r
				}
				var buf Reply
				if got, ok := st.Peek(a, &buf); ok != (model[a].Addr == a) || ok && !gocmp.Equal(got, want) || ok && got.Reply != nil && got.Reply != &buf {
					t.Fatalf("op %d: Peek(%s) = %v, %v; want %v", op, a, got, ok, gocmp.Diff(want, got))
				}
				// PeekFrom is Peek, from wherever the cursor was left.
				var got Send
				if ok := st.PeekFrom(a, &got, &buf, &cursor); ok != (model[a].Addr == a) || ok && !gocmp.Equal(got, want) {
					t.Fatalf("op %d: PeekFrom(%s) = %v, %v; want %v", op, a, got, ok, gocmp.Diff(want, got))
				}
				if op%300 == 299 {
					checkModel(t, st, model)
				}
			}
			checkModel(t, st, model)
		})
	}
}

func checkModel(t *testing.T, st *State, model map[addrs.Addr]Send) {
	t.Helper()
	if st.Len() != len(model) {
		t.Fatalf("Len = %d, want %d", st.Len(), len(model))
	}
	var want []Send
	for _, s := range model {
		want = append(want, s)
	}
	slices.SortFunc(want, func(a, b Send) int {
		return cmp.Or(cmp.Compare(a.Addr.Campaign, b.Addr.Campaign), cmp.Compare(a.Addr.Message, b.Addr.Message),
			cmp.Compare(a.Addr.Key, b.Addr.Key))
	})
	if d := gocmp.Diff(want, slices.Collect(st.Sends(addrs.Pattern{}))); d != "" {
		t.Fatalf("Sends differ from the model (-want +got):\n%s", d)
	}
	for _, g := range st.groups {
		if g.index.n != len(g.recs) {
			t.Fatalf("index of %v holds %d keys for %d recs", g.key, g.index.n, len(g.recs))
		}
	}
	// In the order the recs are kept, PeekFrom finds each where its cursor
	// looks first; with a few places skipped after a hit, further on; with
	// more skipped, through the index; and it finds the absent keys
	// absent.
	hits := map[bool]int{}
	for _, steps := range [][]int{{1}, {1, 3}, {1, cursorReach}, {1, cursorReach + 1}} {
		var cursor Cursor
		for _, g := range st.groups {
			for i, pos := 0, 0; pos < len(g.recs); i, pos = i+1, pos+steps[i%len(steps)] {
				a := addrs.Addr{Campaign: g.key.campaign, Message: g.key.message, Key: g.keyOf(&g.recs[pos])}
				want, _ := st.Peek(a, nil)
				var got Send
				if ok := st.PeekFrom(a, &got, nil, &cursor); !ok || !gocmp.Equal(got, want) || cursor.pos != pos {
					t.Fatalf("PeekFrom(%s) in order = %v, %v at %d; want %v at %d", a, got, ok, cursor.pos, want, pos)
				}
				hits[cursor.hit]++
				full, _ := st.Get(a)
				if id, ok := st.ConversationAt(&cursor, a); !ok || id != full.ConversationID {
					t.Fatalf("ConversationAt(%s) = %q, %v; want %q", a, id, ok, full.ConversationID)
				}
				absent := cursor
				if id, ok := st.ConversationAt(&absent, addrs.Addr{Campaign: a.Campaign, Message: a.Message, Key: a.Key + "-absent"}); ok {
					t.Fatalf("ConversationAt of another send = %q", id)
				}
				a.Key += "-absent"
				if st.PeekFrom(a, &Send{}, nil, &absent) {
					t.Fatalf("PeekFrom(%s) found an absent send", a)
				}
			}
		}
	}
	if len(model) > 100 && (hits[true] == 0 || hits[false] == 0) {
		t.Fatalf("the walks found %d sends by the cursor and %d by the index; want some of each", hits[true], hits[false])
	}
}

// TestUUIDForm checks that exactly the canonical lowercase form of a UUID
// is kept in 16 bytes, and that it reads back byte for byte.
func TestUUIDForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var u uuid.UUID
		for i := range u {
			u[i] = byte(rng.IntN(256))
		}
		got, ok := parseUUID(u.String())
		if !ok || got != u || string(appendUUID(nil, got[:])) != u.String() {
			t.Fatalf("%s: parsed %x, %v", u, got, ok)
		}
	}
	for _, s := range []string{"", "2F1E0A4C-8C2E-4D5B-9A57-5E2F7A1C9B10", "2f1e0a4c8c2e-4d5b-9a57-5e2f7a1c9b10-",
		"{2f1e0a4c-8c2e-4d5b-9a57-5e2f7a1c9b1}", "2f1e0a4c-8c2e-4d5b-9a57-5e2f7a1c9b1g", "2f1e0a4c-8c2e-4d5b-9a57_5e2f7a1c9b10"} {
		if _, ok := parseUUID(s); ok {
			t.Errorf("%q taken for a canonical UUID", s)
		}
	}
}

// TestSnapshotRoundTripDense writes a snapshot of random sends spread over
// several decoding batches per message, and checks that it reads back to
// the same sends and writes again to the same bytes.
func TestSnapshotRoundTripDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	st := newState()
	st.lineage = "0b7e6c1a-3f4d-4e5a-8b6c-7d8e9f0a1b2c"
	for i := range 3*snapshotBatch + 17 {
		for _, m := range []string{"ask", "hello"} {
			s := randomSend(rng, addrs.Addr{Campaign: "c", Message: m, Key: fmt.Sprintf("255%09d", i)})
			st.put(&s, -1)
		}
	}
	path := filepath.Join(t.TempDir(), "ujumbe.state")
	if err := writeNew(path, func(w *bufio.Writer) error { _, err := writeSnapshot(w, st); return err }); err != nil {
		t.Fatal(err)
	}
	back := mustRead(t, path)
	diffStates(t, st, back)
	var again bytes.Buffer
	w := bufio.NewWriter(&again)
	if _, err := writeSnapshot(w, back); err != nil || w.Flush() != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), readFile(t, path)) {
		t.Fatal("the snapshot read back writes other bytes")
	}
}

// TestFixtureRoundTrip reads the snapshot at $UJUMBE_TEST_FIXTURE_STATE
// (such as bench/mkfixture's DIR3/ujumbe.state, 2M sends), without its
// journal, and checks that writing it again gives the same bytes: every
// field of every send survives the dense form. Skipped when unset.
func TestFixtureRoundTrip(t *testing.T) {
	src := os.Getenv("UJUMBE_TEST_FIXTURE_STATE")
	if src == "" {
		t.Skip("UJUMBE_TEST_FIXTURE_STATE is not set")
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ujumbe.state")
	if err := os.Symlink(abs, path); err != nil {
		t.Fatal(err)
	}
	st := mustRead(t, path)
	want := sha256.New()
	f, err := os.Open(abs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(want, f); err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	w := bufio.NewWriter(got)
	if _, err := writeSnapshot(w, st); err != nil || w.Flush() != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("%s (%d sends) writes back to other bytes", src, st.Len())
	}
	t.Logf("%d sends written back byte for byte", st.Len())
}

// TestOnlyReadStatesAreFrozen checks that the states whose readers take no
// lock are those no Store writes into: Read's, not a Store's.
func TestOnlyReadStatesAreFrozen(t *testing.T) {
	path := statePath(t)
	s := mustOpen(t, path)
	sendOne(t, s, addr("k1"), OutcomeAccepted)
	if s.State().frozen {
		t.Fatal("a Store's state is frozen: its readers would race its writes")
	}
	mustClose(t, s)
	st := mustRead(t, path)
	if !st.frozen {
		t.Fatal("Read's state is not frozen: plan's lookups take the lock")
	}
	if _, ok := st.Peek(addr("k1"), nil); !ok {
		t.Fatal("Peek does not find the send Read loaded")
	}
}

// TestCursorFollowsGroups checks that a Cursor, which keeps the group it
// found (or that there was none) instead of looking it up by name again,
// notices a group made, removed and made again, and another state.
func TestCursorFollowsGroups(t *testing.T) {
	a := addrs.Addr{Campaign: "c", Message: "m", Key: "k1"}
	b := addrs.Addr{Campaign: "c", Message: "m", Key: "k2"}
	st := newState()
	put := func(st *State, a addrs.Addr, phone string) {
		s := Send{Addr: a, Phone: phone, Outcome: OutcomeAccepted}
		_, pos := st.lookup(a)
		st.put(&s, pos)
	}
	peek := func(st *State, a addrs.Addr, c *Cursor) string {
		var s Send
		if !st.PeekFrom(a, &s, nil, c) {
			return "absent"
		}
		return s.Phone
	}
	var c Cursor
	for i, step := range []struct {
		do   func()
		a    addrs.Addr
		want string
	}{
		{func() {}, a, "absent"}, // no group yet
		{func() { put(st, a, "1") }, a, "1"},
		{func() { put(st, b, "2") }, b, "2"},
		{func() { st.remove(st.lookup(a)) }, a, "absent"},
		{func() { st.remove(st.lookup(b)) }, b, "absent"}, // the group is gone
		{func() { put(st, b, "3") }, b, "3"},              // and made again
		{func() { put(st, a, "4") }, a, "4"},
	} {
		step.do()
		if got := peek(st, step.a, &c); got != step.want {
			t.Fatalf("step %d: PeekFrom(%s) = %s, want %s", i, step.a, got, step.want)
		}
	}
	other := newState()
	put(other, a, "5")
	if got := peek(other, a, &c); got != "5" {
		t.Fatalf("PeekFrom(%s) in another state = %s, want 5", a, got)
	}
}

// TestConversationAtAfterMiss checks that ConversationAt answers "not here"
// for a cursor that found the group but not the send (its place is then
// none), instead of reading before the group's first send.
func TestConversationAtAfterMiss(t *testing.T) {
	st := newState()
	a := addrs.Addr{Campaign: "c", Message: "m", Key: "k1"}
	s := Send{Addr: a, Phone: "1", Outcome: OutcomeAccepted}
	st.put(&s, -1)
	var c Cursor
	if st.PeekFrom(addrs.Addr{Campaign: "c", Message: "m", Key: "absent"}, &Send{}, nil, &c) {
		t.Fatal("found an absent send")
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("ConversationAt panicked: %v", r)
		}
	}()
	if id, ok := st.ConversationAt(&c, a); ok {
		t.Fatalf("ConversationAt = %q, true; the cursor is at no send", id)
	}
}
