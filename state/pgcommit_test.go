package state

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
)

// TestPGLingerPolicy: a batch waits for company only while waiting pays. A
// lone caller never waits; callers that meet in the queue start the waits,
// results may wait longer than anything else, and a wait that found nobody
// stops them.
func TestPGLingerPolicy(t *testing.T) {
	batch := func(ops ...op) []*request {
		b := make([]*request, len(ops))
		for i, o := range ops {
			b[i] = &request{rec: record{op: o}}
		}
		return b
	}
	full := make([]*request, maxBatch)
	for i := range full {
		full[i] = &request{rec: record{op: opResult}}
	}
	type step struct {
		batch  []*request
		want   time.Duration
		joined bool // how the wait, if any, ends
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a lone caller never waits", []step{
			{batch: batch(opIntent)}, {batch: batch(opResult)}, {batch: batch(opRefresh)}, {batch: batch(opResult)},
		}},
		{"company starts the waits, results wait longest", []step{
			{batch: batch(opIntent, opResult), want: pgRecordLinger, joined: true},
			{batch: batch(opResult), want: pgResultLinger, joined: true},
			{batch: batch(opIntent), want: pgRecordLinger, joined: true},
			{batch: batch(opResult, opResult), want: pgResultLinger, joined: true},
		}},
		{"a wait that finds nobody stops the waits", []step{
			{batch: batch(opResult, opResult), want: pgResultLinger, joined: false},
			{batch: batch(opResult)},
			{batch: batch(opIntent)},
			{batch: batch(opIntent, opIntent), want: pgRecordLinger, joined: true},
			{batch: batch(opIntent), want: pgRecordLinger, joined: true},
		}},
		{"a full batch never waits", []step{
			{batch: full},
			{batch: batch(opResult), want: pgResultLinger, joined: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l pgLinger
			for i, s := range tc.steps {
				got := l.limit(s.batch)
				if got != s.want {
					t.Fatalf("step %d (%d records): wait %v, want %v", i, len(s.batch), got, s.want)
				}
				if got > 0 {
					l.ended(s.joined)
				}
			}
		})
	}
}

// TestPGArrays: the binary arrays a batch is sent as hold every record of
// concurrent callers, one row per serial, and the rows read back as the
// records they encode, batch after batch (the buffers are reused).
func TestPGArrays(t *testing.T) {
	pg := testPG(t)
	s := mustOpenPG(t, pg)
	key := func(i int) addrs.Addr { return addr(fmt.Sprintf("K-%02d", i)) }
	var wg sync.WaitGroup
	const n = 40
	for i := range n {
		wg.Go(func() {
			a := key(i)
			err := s.RecordIntent(Intent{Addr: a, Phone: "+255700" + a.Key, Digest: digestOf([]byte(a.Key))})
			if err == nil {
				err = s.RecordResult(Result{Addr: a, Outcome: OutcomeAccepted, MessageID: "msg-" + a.Key, ErrorMessage: "é \"quoted\"\n"})
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var rows, serials int64
	err := s.pg.conn.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT serial) FROM `+s.pg.schema+`.journal`).Scan(&rows, &serials)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 2*n || serials != 2*n {
		t.Errorf("the journal holds %d rows with %d serials, want %d", rows, serials, 2*n)
	}
	check := func(when string, st *State) {
		for i := range n {
			got, ok := st.Get(key(i))
			if !ok || got.Outcome != OutcomeAccepted || got.MessageID != "msg-"+key(i).Key || got.ErrorMessage != "é \"quoted\"\n" {
				t.Errorf("%s: %s: %+v (found %v), want accepted with its id and message", when, key(i), got, ok)
			}
		}
	}
	check("from the journal", mustReadPG(t, pg))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("after compaction", mustReadPG(t, pg))
}
