package refresh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ujumbe/ujumbe/addrs"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/refresh"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// epoch is the base of the sandbox clock; tests move it with Advance.
var epoch = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// buttons is the interactive follow-up the tests send.
var buttons = json.RawMessage(`{"type":"button","body":{"text":"Want your code?"},"action":{"buttons":[` +
	`{"type":"reply","reply":{"id":"yes","title":"Yes please"}},{"type":"reply","reply":{"id":"no","title":"No thanks"}}]}}`)

// fixture is a sandbox on loopback, a client for it and an opened state:
// what the command wires together, without the command.
type fixture struct {
	t      testing.TB
	srv    *sandbox.Server
	url    string
	client *briq.Client
	store  *state.Store
	path   string // the state's
}

// newFixture starts a sandbox whose clock stands at epoch, where everyone
// answers interactive messages ("yes" twice as often as "no") and nobody
// opts out unless mod says otherwise, and opens an empty state whose clock
// is the sandbox's.
func newFixture(t testing.TB, mod func(*sandbox.Options)) *fixture {
	t.Helper()
	silent := 0.0
	opts := sandbox.Options{
		APIKey:    "refresh-test-key",
		Now:       func() time.Time { return epoch },
		Seed:      11,
		Templates: []sandbox.Template{{Name: "welcome", Params: []string{"1"}}},
		Answers:   map[string]float64{"yes": 2, "no": 1},
		Silent:    &silent,
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := sandbox.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	u, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &fixture{t: t, srv: srv, url: u, path: filepath.Join(t.TempDir(), "ujumbe.state")}
	f.client = f.newClient(u)
	f.store, _, err = state.Open(context.Background(), f.path, state.Options{Operation: "test", Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	return f
}

func (f *fixture) newClient(baseURL string) *briq.Client {
	f.t.Helper()
	c, err := briq.New(briq.Options{BaseURL: baseURL, APIKey: f.srv.APIKey(), MaxConns: 32})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(c.CloseIdleConnections)
	return c
}

// opts returns refresh options on the sandbox's clock, with retries that
// do not wait.
func (f *fixture) opts() refresh.Options {
	return refresh.Options{Now: f.srv.Now, RetryDelay: time.Millisecond}
}

// refresh runs refresh through client (the fixture's when nil) and checks
// that the request count it reports is what the sandbox saw.
func (f *fixture) refresh(client refresh.Client, opts refresh.Options) refresh.Summary {
	f.t.Helper()
	direct := client == nil
	if direct {
		client = f.client
	}
	before := f.srv.Stats().Requests
	sum, err := refresh.Run(context.Background(), client, f.store, opts)
	if err != nil {
		f.t.Fatalf("refresh: %v", err)
	}
	if got := int(f.srv.Stats().Requests - before); direct && got != sum.Requests {
		f.t.Errorf("refresh reports %d requests, the sandbox saw %d", sum.Requests, got)
	}
	return sum
}

func phoneOf(i int) string { return fmt.Sprintf("25571%07d", i) }

func addr(message string, i int) addrs.Addr {
	return addrs.Addr{Campaign: "launch", Message: message, Key: fmt.Sprintf("k%05d", i)}
}

// send makes one send as apply does: intent, request, result. conv empty
// sends the template to phone; otherwise the interactive follow-up into
// conv. It returns the provider's answer and error. It may run on any
// goroutine: a failure to record fails the test and returns a nil result.
func (f *fixture) send(a addrs.Addr, phone, conv string) (*briq.SendResult, error) {
	if err := f.store.RecordIntent(state.Intent{Addr: a, Phone: phone}); err != nil {
		f.t.Errorf("record intent: %v", err)
		return nil, err
	}
	var res *briq.SendResult
	var err error
	if conv == "" {
		res, err = f.client.SendMessage(context.Background(), &briq.MessageRequest{To: phone, Type: briq.TypeTemplate,
			TemplateName: "welcome", Variables: map[string]string{"1": a.Key}})
	} else {
		res, err = f.client.SendInteractive(context.Background(), &briq.InteractiveRequest{ConversationID: conv, Interactive: buttons})
	}
	r := state.Result{Addr: a, Outcome: state.OutcomeUnknown, MessageID: res.MessageID, ConversationID: res.ConversationID}
	if err == nil {
		r.Outcome = state.OutcomeAccepted
		r.ProviderStatus, _ = state.ParseProviderStatus(res.Status)
	}
	if rerr := f.store.RecordResult(r); rerr != nil {
		f.t.Errorf("record result: %v", rerr)
		return nil, rerr
	}
	return res, err
}

// mustSend is send for a send that must be accepted; it returns nil (and
// fails the test) otherwise.
func (f *fixture) mustSend(a addrs.Addr, phone, conv string) *briq.SendResult {
	f.t.Helper()
	res, err := f.send(a, phone, conv)
	if err != nil {
		f.t.Errorf("send %s: %v", a, err)
		return nil
	}
	return res
}

// campaign sends the template ("offer") to recipients 0..n-1 and, when ask
// is set, the interactive follow-up ("ask") into each conversation, on 32
// workers.
func (f *fixture) campaign(n int, ask bool) {
	f.t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && !f.t.Failed(); i = int(next.Add(1) - 1) {
				res := f.mustSend(addr("offer", i), phoneOf(i), "")
				if res != nil && ask {
					f.mustSend(addr("ask", i), phoneOf(i), res.ConversationID)
				}
			}
		}()
	}
	wg.Wait()
	if f.t.Failed() {
		f.t.FailNow()
	}
}

func (f *fixture) get(a addrs.Addr) state.Send {
	f.t.Helper()
	s, ok := f.store.State().Get(a)
	if !ok {
		f.t.Fatalf("%s is not in the state", a)
	}
	return s
}

func (f *fixture) advance(d time.Duration) {
	f.t.Helper()
	if err := f.srv.Advance(d); err != nil {
		f.t.Fatal(err)
	}
}

// proxy serves the sandbox's API through edits: edit changes each item of
// a GET /v1/whatsapp/messages listing. With drops, edit may also drop an
// item (by returning false); each page is then cut from the sandbox's
// complete listing for the same filters, edited, so paging stays
// consistent. fail, when set, may answer a request itself.
type proxy struct {
	srv   *sandbox.Server
	edit  func(q url.Values, item map[string]any) bool
	drops bool
	// oldestFirst, with drops, lists oldest first instead.
	oldestFirst bool
	// query, when set, changes the filters the sandbox is asked for.
	query func(q url.Values)
	fail  func(w http.ResponseWriter, r *http.Request) bool
}

func (f *fixture) proxy(p proxy) *briq.Client {
	p.srv = f.srv
	hs := httptest.NewServer(&p)
	f.t.Cleanup(hs.Close)
	return f.newClient(hs.URL)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.fail != nil && p.fail(w, r) {
		return
	}
	if r.Method != http.MethodGet || r.URL.Path != "/v1/whatsapp/messages" || p.edit == nil {
		p.srv.ServeHTTP(w, r)
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	if limit == 0 {
		limit = 100
	}
	var all []any
	total := 0
	for {
		page := url.Values{}
		for k, v := range q {
			page[k] = v
		}
		if p.query != nil {
			p.query(page)
		}
		if p.drops {
			page.Set("limit", "200")
			page.Set("offset", strconv.Itoa(len(all)))
		}
		req := r.Clone(r.Context())
		req.URL.RawQuery = page.Encode()
		rec := httptest.NewRecorder()
		p.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		var env struct {
			Data struct {
				Items []any `json:"items"`
				Total int   `json:"total"`
			} `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			panic(err)
		}
		all = append(all, env.Data.Items...)
		if !p.drops {
			total = env.Data.Total
			break
		}
		if len(env.Data.Items) == 0 || len(all) >= env.Data.Total {
			break
		}
	}
	kept := []any{}
	for _, it := range all {
		if p.edit(q, it.(map[string]any)) {
			kept = append(kept, it)
		}
	}
	items := kept
	if p.oldestFirst {
		slices.Reverse(kept)
	}
	if p.drops {
		items, total = kept[min(offset, len(kept)):min(offset+limit, len(kept))], len(kept)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"success": true, "request_id": "proxy",
		"data": map[string]any{"items": items, "total": total, "limit": limit, "offset": offset}})
}
