package briq

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testKey is the API key every test client sends; no error text may contain it.
const testKey = "sk_test_9f2c4e1a7b"

// fixedNow is the clock of test clients, so HTTP-date Retry-After values
// turn into exact delays.
var fixedNow = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// newTestClient returns a client for baseURL with the test key and clock;
// mods adjust the options first.
func newTestClient(t testing.TB, baseURL string, mods ...func(*Options)) *Client {
	t.Helper()
	opts := Options{
		BaseURL: baseURL,
		APIKey:  testKey,
		Version: "1.2.3",
		Now:     func() time.Time { return fixedNow },
	}
	for _, m := range mods {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// rawServer starts a loopback server that answers every request with status,
// headers and the raw body given.
func rawServer(t testing.TB, status int, header map[string]string, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if header["Content-Type"] == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// checkNoKey fails when an error's text or fields contain the API key.
func checkNoKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Errorf("error text contains the API key: %s", err)
	}
}
