package command

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jszwec/csvutil"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// TestReport writes the report of a campaign after refresh, one row per
// send, and reads it back.
func TestReport(t *testing.T) {
	const n = 30
	w := newWorld(t, n, sandbox.Options{Seed: 4, OptOut: 0.3})
	// One send in doubt, whose request never left.
	store, _, err := state.Open(context.Background(), filepath.Join(w.dir, defaultStateName), state.Options{Operation: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RecordIntent(state.Intent{Addr: sendAddr(n - 1), Phone: fixture.Phone(n - 1)}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	w.mustRun(exitOK, "apply", "-auto-approve", "-refresh=false")
	if err := w.srv.Advance(11 * time.Minute); err != nil {
		t.Fatal(err)
	}
	w.mustRun(exitOK, "refresh")

	out := w.mustRun(exitOK, "report", "-csv=report.csv")
	if out != "Wrote "+strconv.Itoa(n)+" rows to report.csv.\n" {
		t.Errorf("report printed %q", out)
	}
	path := filepath.Join(w.dir, "report.csv")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v, want 0600", info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header := "key,phone,campaign,message,variant,status,provider_status,message_id,conversation_id,sent_at,delivered_at,read_at," +
		"reply_id,reply_title,reply_text,replied_at,opted_out,attempts,error_code,systemic\n"
	if !bytes.HasPrefix(b, []byte(header)) {
		t.Errorf("report header:\n%s", b[:bytes.IndexByte(b, '\n')+1])
	}
	var got []reportRow
	if err := csvutil.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}

	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	st := w.state()
	var want []reportRow
	replies := 0
	for s := range st.Sends(addrs.Pattern{}) {
		row := reportRow{Key: s.Addr.Key, Phone: s.Phone, Campaign: "launch", Message: "hello", Status: s.Outcome.String(),
			ProviderStatus: s.ProviderStatus.String(), MessageID: s.MessageID, ConversationID: s.ConversationID,
			DeliveredAt: stamp(s.DeliveredAt), ReadAt: stamp(s.ReadAt), Attempts: 1}
		if s.Outcome == state.OutcomeAccepted {
			row.SentAt = stamp(s.IntentAt)
			if row.ProviderStatus != "read" || row.MessageID == "" || row.SentAt == "" || row.ReadAt == "" {
				t.Errorf("%s: %+v, want read with a message_id and times", s.Addr, row)
			}
		}
		if s.Reply != nil {
			row.ReplyText, row.RepliedAt, row.OptedOut = "STOP", stamp(s.Reply.At), true
			replies++
		}
		want = append(want, row)
	}
	if replies == 0 || want[n-1].Status != "unknown" {
		t.Errorf("the report covers %d replies, last send %s: want some replies and one unknown send", replies, want[n-1].Status)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report rows (-want +got):\n%s", diff)
	}

	if stdout := w.mustRun(exitOK, "report", "-csv=-"); stdout != string(b) {
		t.Errorf("report -csv=- differs from the file:\n%s", stdout)
	}
}

func TestDefuse(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"Yes please":           "Yes please",
		"=HYPERLINK(\"x\")":    "'=HYPERLINK(\"x\")",
		"+255712000001":        "'+255712000001",
		"-1":                   "'-1",
		"@SUM(A1)":             "'@SUM(A1)",
		"\tTab":                "'\tTab",
		"STOP -- no more mail": "STOP -- no more mail",
	} {
		if got := defuse(in); got != want {
			t.Errorf("defuse(%q) = %q, want %q", in, got, want)
		}
	}
}
