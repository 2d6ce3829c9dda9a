package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkSend measures accepted sends per second over loopback TCP with
// keep-alive connections, latency off: templates to distinct recipients
// from 64 concurrent clients, each answer read in full. The figure is
// reported as sends/s; the sandbox must stay above 5,000/s on two cores.
func BenchmarkSend(b *testing.B) {
	for _, tt := range []struct {
		name string
		data bool
	}{{"memory", false}, {"datafile", true}} {
		b.Run(tt.name, func(b *testing.B) {
			opts := Options{APIKey: "bench", Templates: testTemplates}
			if tt.data {
				opts.DataFile = filepath.Join(b.TempDir(), "sandbox.data")
			}
			s, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			url, err := s.Start("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			const clients = 64
			tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			var n atomic.Int64
			b.SetParallelism((clients + 1) / 2) // × GOMAXPROCS (2) goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Sprintf(`{"type":"template","to":"2557%08d","template_name":"bf_offer","variables":{"1":"Asha","2":"20%%"}}`, i)
					req, _ := http.NewRequest("POST", url+"/v1/whatsapp/messages", strings.NewReader(body))
					req.Header.Set("X-API-Key", "bench")
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusAccepted {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
			if got := s.Stats().Accepted; got != b.N {
				b.Fatalf("accepted %d of %d", got, b.N)
			}
		})
	}
}

// BenchmarkListTemplates pages through every template of a workspace with
// n templates, 200 a page, over loopback HTTP. Linear paging shows as a
// cost per template that does not grow with n.
func BenchmarkListTemplates(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ts := make([]Template, n)
			for i := range ts {
				ts[i] = Template{Name: fmt.Sprintf("tpl_%06d", i), Status: "APPROVED", Params: []string{"1"}, Language: "en_US", Category: "MARKETING"}
			}
			s, err := New(Options{APIKey: "bench", Templates: ts})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			url, err := s.Start("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			get := func(path string, v any) {
				req, _ := http.NewRequest("GET", url+path, nil)
				req.Header.Set("X-API-Key", "bench")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				if err := json.NewDecoder(res.Body).Decode(v); err != nil || res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				listed, cursor := 0, ""
				for {
					var page struct {
						Items      []json.RawMessage `json:"items"`
						CursorNext *string           `json:"cursor_next"`
					}
					get("/v1/whatsapp/templates?limit=200&status=APPROVED&cursor="+cursor, &page)
					listed += len(page.Items)
					if page.CursorNext == nil {
						break
					}
					cursor = *page.CursorNext
				}
				if listed != n {
					b.Fatalf("listed %d templates, want %d", listed, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/template")
		})
	}
}
