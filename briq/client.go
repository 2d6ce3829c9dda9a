package briq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults applied by [New] to zero fields of [Options].
const (
	// DefaultBaseURL is Briq's production host.
	DefaultBaseURL = "https://karibu.briq.tz"
	// DefaultTimeout bounds one whole request, body included. It is generous
	// on purpose: a send that times out after it was written is in doubt and
	// costs a manual reconciliation, not just a retry.
	DefaultTimeout = 60 * time.Second
	// DefaultConnectTimeout bounds dialing and the TLS handshake; a failure
	// there is certainly not a send, so it can be short.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxConns is the connection pool size per host when the caller
	// does not give one.
	DefaultMaxConns = 64
)

// APIKeyEnv is the environment variable the command layer reads the API key
// from. This package never reads it itself.
const APIKeyEnv = "BRIQ_API_KEY"

// maxBodyBytes caps what is read of one response body: a full page of 200
// messages with their content fits many times over.
const maxBodyBytes = 32 << 20

// idleConnTimeout is shorter than the keep-alive timeouts common servers and
// load balancers use (60 s and more), so the client, not the server, closes an
// idle connection: a server closing one just as a POST is written on it would
// make that send in doubt.
const idleConnTimeout = 30 * time.Second

// Options configures a [Client]. Only APIKey is required.
type Options struct {
	// BaseURL is the API root, scheme and host plus an optional path prefix.
	// Default [DefaultBaseURL].
	BaseURL string
	// APIKey is sent as the X-API-Key header on every request and nowhere
	// else. The caller takes it from BRIQ_API_KEY or the configuration.
	APIKey string
	// Version is ujumbe's version; requests carry User-Agent "ujumbe/<Version>".
	// Default "dev".
	Version string
	// Timeout bounds each request from dial to the end of the response body.
	// Default [DefaultTimeout].
	Timeout time.Duration
	// ConnectTimeout bounds dialing and the TLS handshake. Default
	// [DefaultConnectTimeout]. Ignored when Transport is set.
	ConnectTimeout time.Duration
	// MaxConns is the number of connections kept (and allowed) per host. Set
	// it to at least the number of concurrent sends, or connections churn.
	// Default [DefaultMaxConns]. Ignored when Transport is set.
	MaxConns int
	// Transport replaces the client's own *http.Transport (tests, proxies).
	// It must propagate the request context to an *http.Transport so that
	// httptrace hooks fire; without them, every transport error is classified
	// InDoubt because the client cannot tell whether the request was written.
	Transport http.RoundTripper
	// Now is the clock used to turn an HTTP-date Retry-After into a delay.
	// Default time.Now.
	Now func() time.Time
}

// String describes the options without the API key.
func (o Options) String() string {
	key := "unset"
	if o.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("briq.Options{BaseURL: %q, APIKey: %s, Version: %q, Timeout: %s, ConnectTimeout: %s, MaxConns: %d}",
		o.BaseURL, key, o.Version, o.Timeout, o.ConnectTimeout, o.MaxConns)
}

// GoString is String, so %#v cannot print the API key either.
func (o Options) GoString() string { return o.String() }

// Client talks to one Briq workspace. It is safe for concurrent use; create
// one per run and share it between workers so they share its connections.
type Client struct {
	base      string // scheme://host[/prefix], no trailing slash
	apiKey    string
	userAgent string
	timeout   time.Duration
	now       func() time.Time
	hc        *http.Client
}

// New checks the options and returns a client. It does no network I/O.
func New(opts Options) (*Client, error) {
	if opts.APIKey == "" {
		return nil, fmt.Errorf("briq: no API key: set %s or the provider's api_key", APIKeyEnv)
	}
	// A key with control characters would be rejected by net/http on every
	// request; say so once here, without echoing the key.
	if strings.ContainsFunc(opts.APIKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("briq: API key contains control characters")
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("briq: base URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("briq: base URL %q: want http(s)://host[/path] without user info, query or fragment", base)
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	c := &Client{
		base:      strings.TrimRight(u.String(), "/"),
		apiKey:    opts.APIKey,
		userAgent: "ujumbe/" + version,
		timeout:   orDefault(opts.Timeout, DefaultTimeout),
		now:       opts.Now,
	}
	if c.now == nil {
		c.now = time.Now
	}
	rt := opts.Transport
	if rt == nil {
		maxConns := opts.MaxConns
		if maxConns <= 0 {
			maxConns = DefaultMaxConns
		}
		rt = newTransport(orDefault(opts.ConnectTimeout, DefaultConnectTimeout), maxConns)
	}
	c.hc = &http.Client{
		Transport: rt,
		// Never follow redirects: net/http would re-send a POST body to the
		// new location (307/308) or turn it into a GET (301-303). A redirect
		// is reported as an answer instead (see the classification).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// newTransport builds the HTTP/1.1 transport the client uses by default.
//
// Why HTTP/1.1 only: one request per connection at a time makes the
// "was the request written?" tracking exact and makes MaxConns mean
// connections. Why no ResponseHeaderTimeout: its error path returns before
// the transport's write goroutine finishes, so a write could still be in
// progress when the error is classified; the per-request context deadline has
// no such race (the transport waits for the writer before it returns).
func newTransport(connectTimeout time.Duration, maxConns int) *http.Transport {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: connectTimeout,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     idleConnTimeout,
		Protocols:           protocols,
	}
}

// String names the client's base URL, never its key.
func (c *Client) String() string { return "briq.Client(" + c.base + ")" }

// GoString is String, so %#v cannot print the API key either.
func (c *Client) GoString() string { return c.String() }

// CloseIdleConnections closes the connections the client keeps open.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// response is one complete HTTP answer, its body fully read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// writeTracker records, through httptrace, whether the transport started to
// obtain a connection and whether it handed the request to a connection.
type writeTracker struct {
	traced atomic.Bool // GetConn fired: the RoundTripper supports tracing
	wrote  atomic.Bool // WroteRequest fired: bytes may have reached the server
}

func (w *writeTracker) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn:      func(string) { w.traced.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { w.wrote.Store(true) },
	}
}

// reached decides, after a transport error, whether the request can have
// reached the server.
//
// A dial error (refused, unreachable, DNS) is final proof of "no": the
// transport only re-dials a POST after an attempt that wrote nothing. Absent
// that, "no" needs the trace: the transport got as far as asking for a
// connection but never called Request.write. WroteRequest fires when the
// request went into the connection's buffer, before the flush, so it means
// "may have been written" — erring on the side of in doubt. net/http waits for
// its write goroutine before returning an error, so no write can start after
// the verdict.
func (w *writeTracker) reached(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return false
	}
	if w.traced.Load() && !w.wrote.Load() {
		return false
	}
	return true
}

// exchange performs one HTTP request and reads the whole answer. On a
// transport failure it returns an *Error classed NeverReached or InDoubt; any
// HTTP status is returned as a response for the caller to classify.
func (c *Client) exchange(ctx context.Context, op, method, pathQuery string, body []byte) (*response, *Error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var w writeTracker
	ctx = httptrace.WithClientTrace(ctx, w.trace())

	var rd io.Reader
	if body != nil {
		// A *bytes.Reader gives the request a GetBody. That is safe: net/http
		// uses it only to re-send after an attempt that wrote nothing, since
		// a POST without an Idempotency-Key header is not "replayable", and
		// redirects, the other user of GetBody, are switched off.
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathQuery, rd)
	if err != nil {
		return nil, c.newError(op, Permanent, 0, fmt.Errorf("build request: %w", err))
	}
	req.Header = http.Header{
		"X-Api-Key":  {c.apiKey},
		"User-Agent": {c.userAgent},
		"Accept":     {"application/json"},
	}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		class := InDoubt
		if !w.reached(err) {
			class = NeverReached
		}
		return nil, c.newError(op, class, 0, err)
	}
	b, err := readBody(resp.Body)
	if err != nil {
		// The server answered, so it has the request: whatever it did with
		// it is unknown once the body is lost.
		return nil, c.newError(op, InDoubt, resp.StatusCode, fmt.Errorf("read response: %w", err))
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// readBody reads and closes a response body. Reading to EOF is what lets the
// transport reuse the connection; a body over maxBodyBytes is an error and
// its connection is dropped by Close.
func readBody(rc io.ReadCloser) ([]byte, error) {
	defer rc.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(rc, maxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if n > maxBodyBytes {
		return nil, fmt.Errorf("body larger than %d bytes", maxBodyBytes)
	}
	return buf.Bytes(), nil
}

// newError builds an *Error for op whose texts cannot carry the API key.
func (c *Client) newError(op string, class Class, status int, err error) *Error {
	return &Error{Op: op, Class: class, HTTPStatus: status, Err: c.redactErr(err)}
}

// redact removes the API key from a text that came from elsewhere (a server
// message, a transport error), in case a server or proxy echoes headers.
func (c *Client) redact(s string) string {
	if c.apiKey == "" || !strings.Contains(s, c.apiKey) {
		return s
	}
	return strings.ReplaceAll(s, c.apiKey, "[redacted]")
}

// redactErr returns err unchanged unless its text contains the API key; then
// it returns a plain error with the key removed. The wrapped chain is dropped
// on purpose: any error in it could print the key.
func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); strings.Contains(s, c.apiKey) {
		return errors.New(c.redact(s))
	}
	return err
}
