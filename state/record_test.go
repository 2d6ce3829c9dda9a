package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ujumbe/ujumbe/addrs"
)

func fullSend() Send {
	return Send{
		Addr: addr(`C "1" \ é`), Phone: "+255712345678", Digest: digestOf([]byte("hello")), Attempts: 3,
		IntentAt: t0, Outcome: OutcomeAccepted, MessageID: "2f1e0a4c-8c2e-4d5b-9a57-5e2f7a1c9b10",
		ConversationID: "c0a80101-0000-4000-8000-000000000001", ProviderStatus: StatusDelivered,
		ErrorCode: "E\t1", ErrorMessage: "line one\nline \"two\"\x01 \u2028 done", ResultAt: t0.Add(time.Second),
		UpdatedAt: t0.Add(time.Hour), DeliveredAt: t0.Add(time.Minute), ReadAt: t0.Add(2 * time.Minute),
		Reply: &Reply{ID: "yes", Title: "Yes", Text: "Sure!", At: t0.Add(3 * time.Minute), MessageID: "in-1"},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  record
	}{
		{"send", record{op: opSend, send: fullSend()}},
		{"minimal send", record{op: opSend, send: Send{Addr: addr("k")}}},
		{"intent", record{op: opIntent, replace: true, send: Send{Addr: addr("k"), Phone: "+1", Digest: digestOf(nil), IntentAt: t0}}},
		{"result", record{op: opResult, send: Send{Addr: addr("k"), Outcome: OutcomeRetry, ErrorCode: "429", ResultAt: t0}}},
		{"refresh", record{op: opRefresh, send: Send{Addr: addr("k"), ProviderStatus: StatusRead, Reply: &Reply{Text: "x"}, UpdatedAt: t0}}},
		{"defer", record{op: opDefer, send: Send{Addr: addr("k"), MessageID: "m", ErrorCode: "131049", ErrorMessage: "not delivered", ResultAt: t0}}},
		{"opt-out", record{op: opOptOut, optOut: OptOut{Phone: "+1", At: t0, Text: "STOP", MessageID: "m"}}},
		{"rm", record{op: opRemove, from: addrs.Pattern{Campaign: "c"}}},
		{"mv", record{op: opMove, moves: []Move{{From: addrs.Pattern{Campaign: "c", Message: "m", Key: "k\"1"}, To: addrs.Pattern{Campaign: "c", Message: "m", Key: "k2"}}}}},
		{"mv several", record{op: opMove, moves: []Move{
			{From: addrs.Pattern{Campaign: "a"}, To: addrs.Pattern{Campaign: "b"}},
			{From: addrs.Pattern{Campaign: "c", Message: "m", Key: ""}, To: addrs.Pattern{Campaign: "c", Message: "n", Key: ""}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendRecord(nil, &tt.rec)
			if !json.Valid(b) {
				t.Fatalf("not valid JSON: %s", b)
			}
			got, err := newDecoder().record(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if d := cmp.Diff(tt.rec, got, cmp.AllowUnexported(record{})); d != "" {
				t.Errorf("round trip of %s (-want +got):\n%s", b, d)
			}
		})
	}
}

// TestRecordMatchesEncodingJSON checks the hand-written codec against the
// standard library's reading of the same bytes.
func TestRecordMatchesEncodingJSON(t *testing.T) {
	s := fullSend()
	b := appendRecord(nil, &record{op: opSend, send: s})
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"op": "send", "c": "black_friday", "m": "ask", "k": s.Addr.Key, "ph": s.Phone, "dg": s.Digest.String(),
		"n": 3.0, "o": "accepted", "id": s.MessageID, "cv": s.ConversationID, "st": "delivered",
		"ec": s.ErrorCode, "em": s.ErrorMessage, "ti": float64(t0.UnixMilli()), "tr": float64(t0.UnixMilli() + 1000),
		"tu": float64(t0.Add(time.Hour).UnixMilli()), "tdl": float64(t0.Add(time.Minute).UnixMilli()),
		"trd": float64(t0.Add(2 * time.Minute).UnixMilli()), "rid": "yes", "rtl": "Yes", "rtx": "Sure!",
		"rat": float64(t0.Add(3 * time.Minute).UnixMilli()), "rmi": "in-1",
	}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{``, "not a JSON object"},
		{`{}`, "expected"},
		{`{"op":"intent"}`, "complete address"},
		{`{"op":"nope","c":"c","m":"m","k":"k"}`, "unknown op"},
		{`{"c":"c","m":"m","k":"k"}`, "no op"},
		{`{"op":"send","c":"c","m":"m","k":"k","zz":1}`, "unknown field"},
		{`{"op":"send","c":"c","m":"m","k":"k","o":"great"}`, "unknown outcome"},
		{`{"op":"send","c":"c","m":"m","k":"k","st":"lost"}`, "unknown provider status"},
		{`{"op":"send","c":"c","m":"m","k":"k","kd":"letter"}`, "unknown kind"},
		{`{"op":"send","c":"c","m":"m","k":"k","dg":"abc"}`, "bad digest"},
		{`{"op":"send","c":"c","m":"m","k":"k","dg":"zz000000000000000000000000000000"}`, "bad digest"},
		{`{"op":"send","c":"c","m":"m","k":"k","n":}`, "expected a number"},
		{`{"op":"send","c":"c","m":"m","k":"k","n":99999999999999999999}`, "out of range"},
		{`{"op":"send","c":"c","m":"m","k":"k"}}`, "expected ','"},
		{`{"op":"send","c":"c","m":"m","k":"k","rpl":maybe}`, "true or false"},
		{`{"op":"send","c":"c","m":"m","k":"a` + "\x01" + `"}`, "control character"},
		{`{"op":"send","c":"c","m":"m","k":"\x"}`, "bad string"},
		{`{"op":"send","c":"c","m":"m","k":"k}`, "unterminated"},
		{`{"op":"opt_out","tx":"STOP"}`, "without phone"},
		{`{"op":"rm","from":"nonsense"}`, "invalid address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := newDecoder().record([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decode %s: got %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestFrame(t *testing.T) {
	rec := record{op: opSend, send: fullSend()}
	hdr, crc := appendHeader(nil, header{Format: formatJournal, Version: Version, Lineage: "L", Serial: 7})
	line, _ := appendFramed(nil, crc, &rec)
	if line[len(line)-1] != '\n' || strings.Count(string(line), "\n") != 1 {
		t.Fatalf("a framed record is one line: %q", line)
	}
	if _, _, err := unframe(hdr[:len(hdr)-1], 0); err != nil {
		t.Fatalf("header: %v", err)
	}
	body := line[:len(line)-1]
	if _, _, err := unframe(body, crc); err != nil {
		t.Fatalf("unframe: %v", err)
	}
	if _, _, err := unframe(body, crc+1); err == nil {
		t.Error("a line chained to another predecessor passed")
	}
	for i := range body {
		bad := []byte(string(body))
		bad[i] ^= 0x20
		if _, _, err := unframe(bad, crc); err == nil {
			t.Errorf("flipping byte %d went unnoticed", i)
		}
	}
}
