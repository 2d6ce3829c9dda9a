package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ujumbe/ujumbe/sandbox"
)

// oneDocument checks that out is exactly one JSON object, and returns it.
func oneDocument(t *testing.T, what, out string) map[string]json.RawMessage {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", what, err, out)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: more than one JSON document:\n%s", what, out)
	}
	return doc
}

// events checks that out is JSON Lines of events, each with a timestamp,
// a type and a message, and returns their types.
func events(t *testing.T, what, out string) []string {
	t.Helper()
	var types []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var ev struct {
			Timestamp string `json:"@timestamp"`
			Type      string `json:"type"`
			Message   string `json:"@message"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Timestamp == "" || ev.Type == "" || ev.Message == "" {
			t.Fatalf("%s: line %q is not an event (%v)\n%s", what, line, err, out)
		}
		types = append(types, ev.Type)
	}
	return types
}

// TestJSONRule runs every command that takes -json, against a sandbox over
// HTTP, and checks its stdout against the README's rule: one document for
// the commands that answer once, JSON Lines of events for those that run
// over time, nothing else; diagnostics inside either.
func TestJSONRule(t *testing.T) {
	w := newWorld(t, 5, sandbox.Options{})
	for _, args := range [][]string{{"validate"}, {"plan"}, {"version"}} {
		oneDocument(t, strings.Join(args, " "), w.mustRun(exitOK, append(args, "-json")...))
	}
	types := events(t, "apply", w.mustRun(exitOK, "apply", "-auto-approve", "-json"))
	for _, want := range []string{"refresh", "plan", "send", "summary"} {
		if !bytes.Contains([]byte(strings.Join(types, " ")), []byte(want)) {
			t.Errorf("apply -json has no %q event: %v", want, types)
		}
	}
	events(t, "apply again", w.mustRun(exitOK, "apply", "-auto-approve", "-json"))
	events(t, "refresh", w.mustRun(exitOK, "refresh", "-json"))
	oneDocument(t, "show", w.mustRun(exitOK, "show", "-json"))
	list := oneDocument(t, "state list", w.mustRun(exitOK, "state", "list", "-json"))
	var addrs []string
	if err := json.Unmarshal(list["sends"], &addrs); err != nil || len(addrs) != 5 {
		t.Fatalf("state list -json: %v, %s", err, list["sends"])
	}
	send := oneDocument(t, "state show", w.mustRun(exitOK, "state", "show", "-json", addrs[0]))
	if string(send["content_sent"]) != "true" || send["message_id"] == nil {
		t.Errorf("state show -json: %v", send)
	}

	// Errors are diagnostics in the same shapes.
	doc := oneDocument(t, "state show of nothing", w.mustRun(exitError, "state", "show", "-json", `campaign.nope.message.x["k"]`))
	if !strings.Contains(string(doc["diagnostics"]), `"summary":"No such send"`) {
		t.Errorf("state show -json of nothing: %v", doc)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "broken.hcl"), []byte("campaign {"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc = oneDocument(t, "plan of a broken configuration", w.mustRun(exitError, "plan", "-json"))
	if !strings.Contains(string(doc["diagnostics"]), `"severity":"error"`) {
		t.Errorf("plan -json of a broken configuration: %v", doc)
	}
	types = events(t, "apply of a broken configuration", w.mustRun(exitError, "apply", "-auto-approve", "-json"))
	if len(types) == 0 || types[0] != "diagnostic" {
		t.Errorf("apply -json of a broken configuration: %v", types)
	}

	// A rehearsal with -wait: rounds, waits and the end, all events.
	dir := copyExample(t, "follow-ups")
	rw := &world{t: t, dir: dir}
	types = events(t, "apply -wait", rw.mustRun(exitOK, "apply", "-sandbox", "-auto-approve", "-wait", "-json"))
	if types[len(types)-1] != "wait_end" {
		t.Errorf("apply -wait -json does not end with wait_end: %v", types)
	}
}
