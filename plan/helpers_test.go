package plan

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/config"
	"github.com/ujumbe/ujumbe/state"
)

// openStore opens a new state whose clock stands at t0, closed when the
// test ends.
func openStore(t *testing.T) *state.Store {
	t.Helper()
	store, _, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ujumbe.state"), state.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// loadFiles writes files (name → content) to a new directory and loads
// the configuration there.
func loadFiles(t *testing.T, files map[string]string, opts config.LoadOptions) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := config.Load(dir, opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// recordAccepted records m's send to r, with the content m renders for
// the answer reply, as sent and accepted at at.
func recordAccepted(t *testing.T, store *state.Store, m *config.Message, r *config.Recipient, reply *config.Reply, at time.Time) {
	t.Helper()
	p, diags := m.Render(r, reply, "")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a := addrs.Addr{Campaign: m.Campaign.Name, Message: m.Name, Key: r.Key}
	if err := store.RecordIntent(state.Intent{Addr: a, Phone: r.Phone, Digest: ContentDigest(p), At: at}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordResult(state.Result{Addr: a, Outcome: state.OutcomeAccepted, MessageID: "m-" + m.Name + "-" + r.Key, At: at}); err != nil {
		t.Fatal(err)
	}
}
