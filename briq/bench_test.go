package briq

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchRequest is a typical first-contact template send.
var benchRequest = &MessageRequest{
	To: "255712345678", Type: TypeTemplate, TemplateName: "bf_offer_2026",
	Variables: map[string]string{"1": "Asha", "2": "20%"},
}

// BenchmarkSendMessage measures one send and its classification:
//   - loopback: through a real connection to an httptest server (the
//     server's allocations count too);
//   - loopback-parallel: the same from GOMAXPROCS goroutines;
//   - in-memory: against a RoundTripper that answers at once, i.e. the
//     client's own cost (encode, request, decode, classify).
func BenchmarkSendMessage(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, acceptedBody)
	})
	srv := httptest.NewServer(handler)
	b.Cleanup(srv.Close)
	ctx := context.Background()

	b.Run("loopback", func(b *testing.B) {
		c := newTestClient(b, srv.URL)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.SendMessage(ctx, benchRequest); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("loopback-parallel", func(b *testing.B) {
		c := newTestClient(b, srv.URL)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.SendMessage(ctx, benchRequest); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("in-memory", func(b *testing.B) {
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
			return &http.Response{
				StatusCode: http.StatusAccepted,
				Header:     http.Header{"Content-Type": {"application/json"}},
				Body:       io.NopCloser(strings.NewReader(acceptedBody)),
				Request:    r,
			}, nil
		})
		c := newTestClient(b, "http://briq.test", func(o *Options) { o.Transport = rt })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.SendMessage(ctx, benchRequest); err != nil {
				b.Fatal(err)
			}
		}
	})
}
