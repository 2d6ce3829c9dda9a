package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// The one rule of -json (README, "Machine-readable output"): a command that
// answers once (validate, plan, show, state list and show, version) writes
// exactly one JSON document on stdout, with the diagnostics of the run in
// its "diagnostics" list; a command that runs over time (apply, refresh)
// writes JSON Lines, one event per line, each with "@timestamp", "type" and
// "@message", as terraform apply -json does. Nothing else goes to stdout,
// and a diagnostic has one shape everywhere (diagJSON).

// streamingCommands are the commands whose -json output is JSON Lines.
var streamingCommands = map[string]bool{"apply": true, "refresh": true}

// jsonOut holds the state of a command's -json output.
type jsonOut struct {
	mu      sync.Mutex
	stream  bool       // JSON Lines of events, not one document
	pending []diagJSON // diagnostics for the document not yet written
	written bool       // the document was written
}

// diagnostic takes a diagnostic printed under -json: an event of its own
// when streaming, else kept for the document.
func (c *cli) jsonDiagnostic(d diagJSON) {
	c.js.mu.Lock()
	stream := c.js.stream
	if !stream {
		c.js.pending = append(c.js.pending, d)
	}
	c.js.mu.Unlock()
	if stream {
		c.event("diagnostic", d.Summary, struct {
			Diagnostic diagJSON `json:"diagnostic"`
		}{d})
	}
}

// ownDiagnostics is a document that carries the run's diagnostics in a
// "diagnostics" field of its own, so writeJSON adds none.
type ownDiagnostics interface{ hasDiagnostics() }

// writeJSON writes v as the command's one JSON document, compact, on one
// line, with the diagnostics printed before it added as "diagnostics"
// unless v carries its own (ownDiagnostics). It returns the exit code for
// a failed write.
func (c *cli) writeJSON(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		// Nothing is out yet: the diagnostic makes the document.
		return c.fail(view{json: true}, "Cannot write JSON", err)
	}
	c.js.mu.Lock()
	defer c.js.mu.Unlock()
	if _, own := v.(ownDiagnostics); len(c.js.pending) > 0 && len(b) > 2 && b[0] == '{' && !own {
		d, _ := json.Marshal(c.js.pending)
		b = append(append(append(b[:len(b)-1:len(b)-1], `,"diagnostics":`...), d...), '}')
	}
	c.js.pending, c.js.written = nil, true
	if _, err := c.stdout.Write(append(b, '\n')); err != nil {
		return c.fail(view{}, "Cannot write JSON", err)
	}
	return exitOK
}

// streamJSON writes, as writeJSON does, the command's one document, which
// write streams (a plan of a million sends is not held in memory twice):
// the document's closing brace is held back so that the diagnostics can
// go in before it.
func (c *cli) streamJSON(write func(io.Writer) error) int {
	c.js.mu.Lock()
	tw := &tailWriter{w: c.stdout}
	err := write(tw)
	tail := bytes.TrimRight(tw.tail, "\n")
	if err == nil && (len(tail) != 1 || tail[0] != '}') {
		err = fmt.Errorf("the document does not end in }")
	}
	if err != nil {
		c.js.mu.Unlock()
		// Part of the document may be out, and no JSON can follow it: the
		// problem goes to stderr as text.
		return c.fail(view{}, "Cannot write JSON", err)
	}
	defer c.js.mu.Unlock()
	end := []byte("}\n")
	if len(c.js.pending) > 0 {
		d, _ := json.Marshal(c.js.pending)
		end = append(append([]byte(`,"diagnostics":`), d...), end...)
	}
	c.js.pending, c.js.written = nil, true
	if _, err := c.stdout.Write(end); err != nil {
		return c.fail(view{}, "Cannot write JSON", err)
	}
	return exitOK
}

// tailWriter writes through to w all but the last bytes written, up to
// the final "}" and anything after it, which it keeps in tail.
type tailWriter struct {
	w    io.Writer
	tail []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.tail = append(t.tail, p...)
	i := bytes.LastIndexByte(t.tail, '}')
	if i < 0 {
		i = len(t.tail)
	}
	if i > 0 {
		if _, err := t.w.Write(t.tail[:i]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], t.tail[i:]...)
	}
	return len(p), nil
}

// finishJSON writes, for a command that answers once and stopped before its
// document, a document of its diagnostics alone.
func (c *cli) finishJSON() {
	c.js.mu.Lock()
	var pending []diagJSON
	if !c.js.stream && !c.js.written {
		pending, c.js.pending = c.js.pending, nil
	}
	c.js.mu.Unlock()
	if len(pending) > 0 {
		c.writeJSON(struct {
			Diagnostics []diagJSON `json:"diagnostics"`
		}{pending})
	}
}

// event writes one JSON Lines event of a streaming command: its time, its
// type, a line a person can read, and the fields of payload (an object).
func (c *cli) event(typ, message string, payload any) {
	head, _ := json.Marshal(struct {
		Timestamp string `json:"@timestamp"`
		Type      string `json:"type"`
		Message   string `json:"@message"`
	}{time.Now().UTC().Format(time.RFC3339Nano), typ, message})
	line := head
	if payload != nil {
		if b, err := json.Marshal(payload); err == nil && len(b) > 2 && b[0] == '{' {
			line = append(append(head[:len(head)-1:len(head)-1], ','), b[1:]...)
		}
	}
	c.js.mu.Lock()
	defer c.js.mu.Unlock()
	c.stdout.Write(append(line, '\n'))
}
