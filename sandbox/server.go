package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Server is a Briq-compatible API. Its methods are safe for concurrent use.
type Server struct {
	cfg     *settings
	key     string
	offset  atomic.Int64 // nanoseconds added to cfg.Now: the Start shift and every Advance
	faults  atomic.Pointer[Faults]
	reqSeq  atomic.Uint64 // numbers requests for the per-request draws
	st      *store
	journal *journal // nil without a data file; written under st.mu
	mux     *http.ServeMux
	stats   counters

	tplMatches matchCache // template positions per listing filter
	closed     chan struct{}

	closeOnce sync.Once
	closeErr  error
	httpMu    sync.Mutex // guards httpSrv and unused
	httpSrv   *http.Server
	// unused are the connections that have not begun a request: a
	// client's transport opens some it never uses, and Close closes them
	// rather than give each the five seconds net/http's Shutdown does.
	unused map[net.Conn]bool
}

// New returns a Server configured by opts. With opts.DataFile it replays the
// file's entries first; an unreadable or damaged file (other than a torn
// last line) is an error naming the file.
func New(opts Options) (*Server, error) {
	cfg, err := normalize(opts)
	if err != nil {
		return nil, fmt.Errorf("sandbox options: %w", err)
	}
	s := &Server{cfg: cfg, key: opts.APIKey, st: newStore(), closed: make(chan struct{})}
	if s.key == "" {
		var b [16]byte
		rand.Read(b[:])
		s.key = "sbx_" + hex.EncodeToString(b[:])
	}
	faults := cfg.Faults
	s.faults.Store(&faults)
	s.stats.reset()
	s.routes()
	if cfg.DataFile != "" {
		j, entries, err := openJournal(cfg.DataFile)
		if err != nil {
			return nil, err
		}
		s.journal = j
		for _, e := range entries {
			s.replay(e)
		}
		if len(entries) > 0 {
			return s, nil
		}
	}
	if start := cfg.Start; !start.IsZero() && start.Before(cfg.Now()) {
		shift := start.Sub(cfg.Now())
		if s.journal != nil {
			if err := s.journal.write(entry{Op: "start", By: shift}); err != nil {
				s.journal.close()
				return nil, err
			}
		}
		s.offset.Store(int64(shift))
	}
	return s, nil
}

// replay applies one data file entry to a Server not yet serving.
func (s *Server) replay(e entry) {
	switch e.Op {
	case "start":
		s.offset.Store(int64(e.By))
	case "advance":
		s.offset.Add(int64(e.By))
	case "message":
		m := e.Message
		if s.st.convByID[m.Conv] == nil {
			s.st.insert(&conversation{ID: m.Conv, Sender: m.Sender, Recipient: m.To, Created: m.At})
		}
		s.st.add(m)
	}
}

// APIKey returns the key clients must send in X-API-Key.
func (s *Server) APIKey() string { return s.key }

// Now returns the sandbox's clock: the base clock, shifted to Start for a
// new sandbox, plus every Advance.
func (s *Server) Now() time.Time {
	return s.cfg.Now().Add(time.Duration(s.offset.Load())).UTC().Round(0)
}

// Advance moves the sandbox clock forward by d, which must not be negative:
// statuses progress, simulated answers arrive and windows close as if d had
// passed. It fails only when the data file cannot be written.
func (s *Server) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("advance sandbox clock by %v: must not be negative", d)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.journal != nil {
		if err := s.journal.write(entry{Op: "advance", By: d}); err != nil {
			return err
		}
	}
	s.offset.Add(int64(d))
	return nil
}

// SetFaults replaces the injected faults from the next request on.
func (s *Server) SetFaults(f Faults) error {
	if err := f.check(); err != nil {
		return fmt.Errorf("sandbox faults: %w", err)
	}
	s.faults.Store(&f)
	return nil
}

// Reset forgets every conversation, message and counter, and empties the
// data file. The clock keeps its time, so it never runs backwards.
func (s *Server) Reset() error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.journal != nil {
		if err := s.journal.reset(time.Duration(s.offset.Load())); err != nil {
			return err
		}
	}
	s.st.clear()
	s.stats.reset()
	return nil
}

// Start listens on addr, which must be a loopback address ("127.0.0.1:0"
// picks a free port), serves in the background and returns the base URL,
// e.g. "http://127.0.0.1:8089".
func (s *Server) Start(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("listen on %s: the sandbox serves loopback addresses only (127.0.0.1, ::1, localhost)", addr)
	}
	s.httpMu.Lock()
	defer s.httpMu.Unlock()
	if s.httpSrv != nil {
		return "", errors.New("sandbox already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.unused = map[net.Conn]bool{}
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ConnState: func(c net.Conn, st http.ConnState) {
			s.httpMu.Lock()
			defer s.httpMu.Unlock()
			if st == http.StateNew {
				s.unused[c] = true
			} else {
				delete(s.unused, c)
			}
		}}
	go s.httpSrv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// Close stops serving, waiting up to five seconds for requests in progress,
// and closes the data file. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.httpMu.Lock()
		srv := s.httpSrv
		for c := range s.unused {
			c.Close()
		}
		s.httpMu.Unlock()
		var errs []error
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, srv.Close())
			}
			cancel()
		}
		if s.journal != nil {
			s.st.mu.Lock()
			errs = append(errs, s.journal.close())
			s.journal = nil
			s.st.mu.Unlock()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The Date of every answer is the sandbox's clock, as a server's is
	// its own: net/http would write the machine's.
	w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request, *call)) {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			c := s.begin(r)
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-API-Key")), []byte(s.key)) != 1 {
				c.fail(w, http.StatusUnauthorized, codeUnauthorized, "missing or invalid X-API-Key", "")
				return
			}
			if c.api && c.faults.NoWorkspace {
				c.fail(w, http.StatusForbidden, codeWorkspace, "API key is not linked to a workspace", "")
				return
			}
			if c.api && r.Method == http.MethodGet && c.failRead(w) {
				return
			}
			h(w, r, c)
		})
	}
	handle("POST /v1/whatsapp/messages", s.sendMessage)
	handle("POST /v1/whatsapp/messages/interactive", s.sendInteractive)
	handle("GET /v1/whatsapp/messages/{message_id}", s.getMessage)
	handle("GET /v1/whatsapp/messages", s.listMessages)
	handle("GET /v1/whatsapp/conversations", s.listConversations)
	handle("GET /v1/whatsapp/senders", s.listSenders)
	handle("GET /v1/whatsapp/templates", s.listTemplates)
	handle("GET /_sandbox/stats", s.getStats)
	handle("POST /_sandbox/advance", s.postAdvance)
	handle("POST /_sandbox/reset", s.postReset)
	handle("/", func(w http.ResponseWriter, r *http.Request, c *call) {
		c.fail(w, http.StatusNotFound, codeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, "")
	})
}

// Error codes. Briq documents the first group; it names the others' HTTP
// status and meaning but not their code strings, so these are the
// sandbox's.
const (
	codeValidation          = "VALIDATION_ERROR"
	codeWindowClosed        = "WINDOW_CLOSED"
	codeMarketingLimit      = "131049"
	codeWorkspace           = "WORKSPACE_REQUIRED"
	codeProviderUnavailable = "PROVIDER_UNAVAILABLE"
	codeReauth              = "WHATSAPP_REAUTH_REQUIRED"
	codeSendFailed          = "SEND_FAILED"
	codeTemplateNotApproved = "TEMPLATE_NOT_APPROVED"

	codeUnauthorized         = "UNAUTHORIZED"
	codeNoActiveSender       = "NO_ACTIVE_SENDER"
	codeParamMismatch        = "TEMPLATE_PARAMETER_MISMATCH"
	codeTemplateNotFound     = "TEMPLATE_NOT_FOUND"
	codeSenderNotFound       = "SENDER_NOT_FOUND"
	codeConversationNotFound = "CONVERSATION_NOT_FOUND"
	codeUndeliverable        = "131026" // Meta's, for a message WhatsApp could not deliver
	codeMessageNotFound      = "MESSAGE_NOT_FOUND"
	codeUnreachable          = "RECIPIENT_UNREACHABLE"
	codeRateLimited          = "RATE_LIMITED"
	codeNotFound             = "NOT_FOUND"
	codeInternal             = "INTERNAL_ERROR"
	codeGatewayTimeout       = "GATEWAY_TIMEOUT"
)

// envelope is Briq's response wrapper.
type envelope struct {
	Success   bool       `json:"success"`
	Data      any        `json:"data"`
	Errors    []apiError `json:"errors"`
	RequestID string     `json:"request_id"`
}

// apiError is WaApiError.
type apiError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Field   *string `json:"field"`
}

func fieldError(field, format string, args ...any) apiError {
	e := apiError{Code: codeValidation, Message: fmt.Sprintf(format, args...)}
	if field != "" {
		e.Field = &field
	}
	return e
}

// A call is one request in progress.
type call struct {
	s      *Server
	n      uint64  // request number, for the per-request draws
	faults *Faults // the faults in force when the request arrived
	api    bool    // a /v1 request, as opposed to /_sandbox
}

func (s *Server) begin(r *http.Request) *call {
	c := &call{s: s, n: s.reqSeq.Add(1), faults: s.faults.Load(), api: strings.HasPrefix(r.URL.Path, "/v1/")}
	if c.api {
		s.stats.requests.Add(1)
	}
	return c
}

// draw returns this request's number in [0, 1) for purpose.
func (c *call) draw(purpose string) float64 { return unit(c.s.cfg.Seed, purpose, c.n) }

// wait applies the latency fault to a /v1 response.
func (c *call) wait() {
	if !c.api {
		return
	}
	d := c.faults.Latency
	if c.faults.Jitter > 0 {
		d += time.Duration(c.draw(drawJitter) * float64(c.faults.Jitter))
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.s.closed:
	}
}

// ok writes a success envelope around data.
func (c *call) ok(w http.ResponseWriter, status int, data any) {
	c.write(w, status, envelope{Success: true, Data: data, RequestID: uuid.NewString()})
}

// fail writes an error envelope with one error.
func (c *call) fail(w http.ResponseWriter, status int, code, msg, field string) {
	e := apiError{Code: code, Message: msg}
	if field != "" {
		e.Field = &field
	}
	c.failWith(w, status, nil, e)
}

// failWith writes an error envelope with errs, all of the same code, and
// data (nil for none).
func (c *call) failWith(w http.ResponseWriter, status int, data any, errs ...apiError) {
	c.s.stats.reject(errs[0].Code)
	c.write(w, status, envelope{Data: data, Errors: errs, RequestID: uuid.NewString()})
}

// write sends v as the JSON body, after the latency fault.
func (c *call) write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sandbox: encode response: %v", err)) // our own structs always encode
	}
	c.wait()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// counters are the traffic totals since start or Reset.
type counters struct {
	requests, sends, dropped atomic.Int64
	mu                       sync.Mutex
	rejected                 map[string]int64
}

func (k *counters) reset() {
	k.requests.Store(0)
	k.sends.Store(0)
	k.dropped.Store(0)
	k.mu.Lock()
	k.rejected = make(map[string]int64)
	k.mu.Unlock()
}

func (k *counters) reject(code string) {
	k.mu.Lock()
	k.rejected[code]++
	k.mu.Unlock()
}
