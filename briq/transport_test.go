package briq

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const acceptedBody = `{"success":true,"data":{"message_id":"m-1","conversation_id":"c-1","status":"pending"},"errors":null,"request_id":"r-1"}`

// hijackServer starts a loopback server that counts requests and lets act
// take over the connection after the request was read.
func hijackServer(t *testing.T, hits *atomic.Int64, act func(conn net.Conn, rw *bufio.ReadWriter)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		act(conn, rw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// roundTripFunc is a RoundTripper that does not go through net/http's
// transport, so no httptrace hook fires.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSendTransportFailures pins the class of every way a send can fail
// below HTTP, and that the server saw the request at most once.
func TestSendTransportFailures(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the base URL and options to use, and the counter of
		// requests the server saw (nil when no server is involved); cancel
		// cancels the context of the send.
		setup      func(t *testing.T, cancel context.CancelFunc) (string, func(*Options), *atomic.Int64)
		req        *InteractiveRequest
		want       Class
		wantStatus int
		wantErr    error // matched with errors.Is when set
	}{
		{
			name: "connection refused",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				return "http://" + refusedAddr(t), nil, nil
			},
			want: NeverReached,
		},
		{
			name: "DNS failure",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "karibu.invalid", IsNotFound: true}}
				}}
				return "http://karibu.invalid", func(o *Options) { o.Transport = tr }, nil
			},
			want: NeverReached,
		},
		{
			name: "deadline before the request was written",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}}
				return "http://127.0.0.1:9", func(o *Options) { o.Transport = tr; o.Timeout = 20 * time.Millisecond }, nil
			},
			want:    NeverReached,
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "timeout after the request was written",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				var hits atomic.Int64
				release := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					_, _ = io.Copy(io.Discard, r.Body)
					select {
					case <-r.Context().Done():
					case <-release:
					}
				}))
				t.Cleanup(srv.Close)
				t.Cleanup(func() { close(release) })
				// Long enough that the request is written first even on a
				// loaded machine; the server then never answers.
				return srv.URL, func(o *Options) { o.Timeout = 300 * time.Millisecond }, &hits
			},
			want:    InDoubt,
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "caller cancels after the server got the request",
			setup: func(t *testing.T, cancel context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				var hits atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					_, _ = io.Copy(io.Discard, r.Body)
					cancel()
					<-r.Context().Done()
				}))
				t.Cleanup(srv.Close)
				return srv.URL, nil, &hits
			},
			want:    InDoubt,
			wantErr: context.Canceled,
		},
		{
			name: "connection closed after the request was written",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				var hits atomic.Int64
				srv := hijackServer(t, &hits, func(conn net.Conn, _ *bufio.ReadWriter) { conn.Close() })
				return srv.URL, nil, &hits
			},
			want: InDoubt,
		},
		{
			name: "connection reset after the request was written",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				var hits atomic.Int64
				srv := hijackServer(t, &hits, func(conn net.Conn, _ *bufio.ReadWriter) {
					_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
					conn.Close()
				})
				return srv.URL, nil, &hits
			},
			want: InDoubt,
		},
		{
			name: "answer cut short",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				var hits atomic.Int64
				srv := hijackServer(t, &hits, func(conn net.Conn, rw *bufio.ReadWriter) {
					fmt.Fprint(rw, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"success\":true,\"data\":{\"message_id\":\"m-")
					_ = rw.Flush()
					conn.Close()
				})
				return srv.URL, nil, &hits
			},
			want:       InDoubt,
			wantStatus: 202,
			wantErr:    io.ErrUnexpectedEOF,
		},
		{
			name: "round tripper without tracing",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				rt := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("proxy lost it") })
				return "http://briq.test", func(o *Options) { o.Transport = rt }, nil
			},
			want: InDoubt,
		},
		{
			name: "body that cannot be encoded",
			setup: func(t *testing.T, _ context.CancelFunc) (string, func(*Options), *atomic.Int64) {
				var hits atomic.Int64
				srv := hijackServer(t, &hits, func(conn net.Conn, _ *bufio.ReadWriter) { conn.Close() })
				return srv.URL, nil, &hits
			},
			req:  &InteractiveRequest{To: "255712345678", Interactive: json.RawMessage(`{"type":`)},
			want: Permanent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			base, mod, hits := tt.setup(t, cancel)
			var mods []func(*Options)
			if mod != nil {
				mods = append(mods, mod)
			}
			c := newTestClient(t, base, mods...)
			req := tt.req
			if req == nil {
				req = &InteractiveRequest{To: "255712345678", Interactive: json.RawMessage(`{"type":"button"}`)}
			}
			res, err := c.SendInteractive(ctx, req)
			if got := ClassOf(err); got != tt.want {
				t.Fatalf("class = %v, want %v (error: %v)", got, tt.want, err)
			}
			if res == nil || res.HTTPStatus != tt.wantStatus || res.MessageID != "" {
				t.Errorf("result = %+v, want HTTP status %d and no message id", res, tt.wantStatus)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			wantHits := int64(1)
			if tt.want == Permanent {
				wantHits = 0
			}
			if hits != nil && hits.Load() != wantHits {
				t.Errorf("server saw %d requests, want %d", hits.Load(), wantHits)
			}
			checkNoKey(t, err)
		})
	}
}

// TestDroppedPOSTIsSentOnce drops the connection of a send after the server
// read it, on a connection that served a request before — the case in which
// net/http re-sends a request it deems replayable. The client must report
// InDoubt and the server must have seen the request exactly once. The control
// sub-test shows the harness does catch a re-send: the same exchange with an
// Idempotency-Key header through a bare http.Client reaches the server twice.
func TestDroppedPOSTIsSentOnce(t *testing.T) {
	var drops, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "drop me") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, acceptedBody)
			return
		}
		drops.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	t.Run("client", func(t *testing.T) {
		drops.Store(0)
		conns.Store(0)
		c := newTestClient(t, srv.URL, func(o *Options) { o.MaxConns = 1 })
		ctx := context.Background()
		if _, err := c.SendMessage(ctx, &MessageRequest{To: "255712345678", Type: TypeText, Body: "warm up"}); err != nil {
			t.Fatalf("warm-up send: %v", err)
		}
		res, err := c.SendMessage(ctx, &MessageRequest{To: "255712345678", Type: TypeText, Body: "drop me"})
		if got := ClassOf(err); got != InDoubt {
			t.Errorf("class = %v, want in doubt (error: %v)", got, err)
		}
		if res.MessageID != "" {
			t.Errorf("message id = %q, want none", res.MessageID)
		}
		if got := drops.Load(); got != 1 {
			t.Errorf("server saw the dropped send %d times, want exactly 1", got)
		}
		if got := conns.Load(); got != 1 {
			t.Errorf("connections opened = %d, want 1 (the send reused the warm connection and was not re-sent)", got)
		}
	})

	t.Run("control: a replayable POST is re-sent by net/http", func(t *testing.T) {
		drops.Store(0)
		hc := &http.Client{Transport: &http.Transport{}}
		t.Cleanup(hc.CloseIdleConnections)
		post := func(body string) error {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+pathMessages, strings.NewReader(body))
			req.Header.Set("Idempotency-Key", "k-1")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}
		if err := post(`{"body":"warm up"}`); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
		if err := post(`{"body":"drop me"}`); err == nil {
			t.Fatal("dropped POST succeeded")
		}
		if got := drops.Load(); got != 2 {
			t.Errorf("server saw the dropped POST %d times, want 2 (net/http's replay)", got)
		}
	})
}

// TestParallelSendsShareConnections sends from 200 goroutines at once, five
// rounds each, and checks every send is accepted with its own id and that
// the client kept its connections: at most one per concurrent send is
// opened. With net/http's default of 2 idle connections per host the count
// would run into the hundreds.
func TestParallelSendsShareConnections(t *testing.T) {
	const workers, rounds = 200, 5
	var seq, conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n := seq.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"success":true,"data":{"message_id":"m-%d","conversation_id":"c-%d","status":"pending"},"errors":null,"request_id":"r-%d"}`, n, n, n)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, func(o *Options) { o.MaxConns = workers })

	var (
		mu   sync.Mutex
		ids  = map[string]bool{}
		errs []error
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				res, err := c.SendMessage(context.Background(), &MessageRequest{
					To: fmt.Sprintf("2557%08d", w), Type: TypeText, Body: fmt.Sprintf("round %d", r),
				})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids[res.MessageID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d sends failed, first: %v", len(errs), errs[0])
	}
	if len(ids) != workers*rounds {
		t.Errorf("distinct message ids = %d, want %d", len(ids), workers*rounds)
	}
	if got := conns.Load(); got > workers {
		t.Errorf("connections opened = %d, want at most %d", got, workers)
	}
}

// TestSendRequestWire checks method, path, headers and the JSON body of each
// kind of send against raw JSON, as the server receives them.
func TestSendRequestWire(t *testing.T) {
	type seen struct {
		method, path string
		header       http.Header
		body         []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), b}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, acceptedBody)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL+"/prefix/")

	interactive := json.RawMessage(`{"type":"button","body":{"text":"Did this resolve your issue?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}}`)
	tests := []struct {
		name     string
		send     func() (*SendResult, error)
		wantPath string
		wantBody string
	}{
		{
			name: "template first contact",
			send: func() (*SendResult, error) {
				return c.SendMessage(context.Background(), &MessageRequest{To: "255712345678", Type: TypeTemplate, TemplateName: "welcome", Variables: map[string]string{"1": "Asha"}})
			},
			wantPath: "/prefix/v1/whatsapp/messages",
			wantBody: `{"to":"255712345678","type":"template","template_name":"welcome","variables":{"1":"Asha"}}`,
		},
		{
			name: "template with sender id",
			send: func() (*SendResult, error) {
				return c.SendMessage(context.Background(), &MessageRequest{To: "+255712345678", SenderID: "5b7e8f4c-0000-4000-8000-000000000001", Type: TypeTemplate, TemplateName: "welcome"})
			},
			wantPath: "/prefix/v1/whatsapp/messages",
			wantBody: `{"to":"+255712345678","sender_id":"5b7e8f4c-0000-4000-8000-000000000001","type":"template","template_name":"welcome"}`,
		},
		{
			name: "text reply into a conversation",
			send: func() (*SendResult, error) {
				return c.SendMessage(context.Background(), &MessageRequest{ConversationID: "c-9", Type: TypeText, Body: "Your code: BF-X"})
			},
			wantPath: "/prefix/v1/whatsapp/messages",
			wantBody: `{"conversation_id":"c-9","type":"text","body":"Your code: BF-X"}`,
		},
		{
			name: "media document",
			send: func() (*SendResult, error) {
				return c.SendMessage(context.Background(), &MessageRequest{ConversationID: "c-9", Type: TypeMedia, MediaKind: MediaDocument, MediaURL: "https://example.com/a.pdf", Caption: "Invoice", Filename: "a.pdf"})
			},
			wantPath: "/prefix/v1/whatsapp/messages",
			wantBody: `{"conversation_id":"c-9","type":"media","media_kind":"DOCUMENT","media_url":"https://example.com/a.pdf","caption":"Invoice","filename":"a.pdf"}`,
		},
		{
			name: "G2 interactive",
			send: func() (*SendResult, error) {
				return c.SendMessage(context.Background(), &MessageRequest{ConversationID: "c-9", Type: TypeInteractive, Interactive: interactive})
			},
			wantPath: "/prefix/v1/whatsapp/messages",
			wantBody: `{"conversation_id":"c-9","type":"interactive","interactive":` + string(interactive) + `}`,
		},
		{
			name: "G3 interactive to a number from a sender",
			send: func() (*SendResult, error) {
				return c.SendInteractive(context.Background(), &InteractiveRequest{To: "255712345678", Sender: "1107264639145282", Interactive: interactive})
			},
			wantPath: "/prefix/v1/whatsapp/messages/interactive",
			wantBody: `{"to":"255712345678","sender":"1107264639145282","interactive":` + string(interactive) + `}`,
		},
		{
			name: "G3 interactive into a conversation",
			send: func() (*SendResult, error) {
				return c.SendInteractive(context.Background(), &InteractiveRequest{ConversationID: "c-9", Interactive: interactive})
			},
			wantPath: "/prefix/v1/whatsapp/messages/interactive",
			wantBody: `{"conversation_id":"c-9","interactive":` + string(interactive) + `}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.send(); err != nil {
				t.Fatalf("send: %v", err)
			}
			s := <-got
			if s.method != http.MethodPost || s.path != tt.wantPath {
				t.Errorf("request = %s %s, want POST %s", s.method, s.path, tt.wantPath)
			}
			wantHeader := map[string]string{
				"X-Api-Key":         testKey,
				"User-Agent":        "ujumbe/1.2.3",
				"Content-Type":      "application/json",
				"Accept":            "application/json",
				"Idempotency-Key":   "",
				"X-Idempotency-Key": "",
			}
			for k, want := range wantHeader {
				if got := s.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			var gotBody, wantBody any
			if err := json.Unmarshal(s.body, &gotBody); err != nil {
				t.Fatalf("body %s: %v", s.body, err)
			}
			if err := json.Unmarshal([]byte(tt.wantBody), &wantBody); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantBody, gotBody); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string // substring; empty means success
		wantStr string // c.String() on success
	}{
		{name: "defaults", opts: Options{APIKey: testKey}, wantStr: "briq.Client(https://karibu.briq.tz)"},
		{name: "base URL with prefix and slash", opts: Options{APIKey: testKey, BaseURL: "http://127.0.0.1:8089/api/"}, wantStr: "briq.Client(http://127.0.0.1:8089/api)"},
		{name: "no key", opts: Options{}, wantErr: "no API key: set BRIQ_API_KEY"},
		{name: "key with newline", opts: Options{APIKey: testKey + "\n"}, wantErr: "API key contains control characters"},
		{name: "relative base URL", opts: Options{APIKey: testKey, BaseURL: "karibu.briq.tz"}, wantErr: "want http(s)://host"},
		{name: "ftp base URL", opts: Options{APIKey: testKey, BaseURL: "ftp://karibu.briq.tz"}, wantErr: "want http(s)://host"},
		{name: "user info in base URL", opts: Options{APIKey: testKey, BaseURL: "https://u:p@karibu.briq.tz"}, wantErr: "without user info"},
		{name: "query in base URL", opts: Options{APIKey: testKey, BaseURL: "https://karibu.briq.tz?x=1"}, wantErr: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
				}
				checkNoKey(t, err)
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), fmt.Sprintf("%v %+v %#v", tt.opts, tt.opts, tt.opts)} {
				if strings.Contains(s, testKey) {
					t.Errorf("formatted client or options contain the key: %s", s)
				}
			}
			if got := c.String(); got != tt.wantStr {
				t.Errorf("String() = %q, want %q", got, tt.wantStr)
			}
		})
	}
}

// TestDefaultTransport pins the pool and timeout settings New applies.
func TestDefaultTransport(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1", func(o *Options) { o.MaxConns = 150 })
	tr, ok := c.hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T, want *http.Transport", c.hc.Transport)
	}
	got := []any{tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tr.Protocols.HTTP1(), tr.Protocols.HTTP2(), c.timeout}
	want := []any{150, 150, 150, DefaultConnectTimeout, time.Duration(0), true, false, DefaultTimeout}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("transport settings (-want +got):\n%s", diff)
	}
	if c.hc.CheckRedirect == nil || c.hc.Timeout != 0 {
		t.Errorf("http.Client must refuse redirects and leave timeouts to the request context")
	}
}
