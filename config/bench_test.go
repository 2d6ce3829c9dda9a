package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// benchConfig is a typical recipients block: phone, key and where all read
// the row, numbers are in mixed national and international formats.
const benchConfig = `
variable "discount" { default = "25%" }

recipients "customers" {
  csv            = "customers.csv"
  phone          = row.phone
  key            = row.customer_id
  where          = row.opt_in == "yes"
  default_region = "TZ"
}

campaign "c" {
  recipients = recipients.customers

  message "offer" {
    template  = "bf_offer"
    variables = { "1" = row.first_name, "2" = var.discount }
  }

  message "code" {
    after = message.offer
    text  = "Hi ${title(row.first_name)}, your code is BF-${upper(row.code)}."
  }
}
`

// writeBenchDir writes benchConfig and a CSV of n generated rows.
func writeBenchDir(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(benchConfig), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "customers.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "customer_id,first_name,phone,code,opt_in")
	prefixes := []string{"71", "75", "76", "78", "65", "68", "74", "62"}
	for i := range n {
		// Unique numbers: 8 prefixes × 10⁷ subscriber numbers.
		p, sub := prefixes[i%len(prefixes)], 1_000_000+i/len(prefixes)
		var phone string
		switch i % 4 {
		case 0:
			phone = fmt.Sprintf("255%s%07d", p, sub)
		case 1:
			phone = fmt.Sprintf("+255 %s%d %03d %03d", p, sub/1_000_000, sub/1000%1000, sub%1000)
		case 2:
			phone = fmt.Sprintf("0%s%07d", p, sub)
		default:
			phone = fmt.Sprintf("0%s%d-%03d-%03d", p, sub/1_000_000, sub/1000%1000, sub%1000)
		}
		optIn := "yes"
		if i%10 == 9 {
			optIn = "no"
		}
		fmt.Fprintf(w, "C-%d,Name%d,%s,code%d,%s\n", i, i%1000, phone, i, optIn)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkLoadRecipients measures Load on a CSV of 100k and 1M rows:
// parsing, where, phone normalization, key and duplicate checks. It reports
// per row the wall-clock time, the CPU time of all cores together (which
// other load on the machine inflates less), the bytes and objects allocated,
// and the heap still held afterwards.
func BenchmarkLoadRecipients(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			dir := writeBenchDir(b, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cpu := processCPU()
			b.ResetTimer()
			var cfg *Config
			for range b.N {
				c, d := Load(dir, LoadOptions{})
				if d.HasErrors() {
					b.Fatal(diagText(c.Files, d))
				}
				cfg = c
			}
			b.StopTimer()
			cpu = processCPU() - cpu
			runtime.ReadMemStats(&after)
			rows := float64(b.N * n)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
			b.ReportMetric(float64(cpu.Nanoseconds())/rows, "cpu-ns/row")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/rows, "B/row")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/rows, "allocs/row")
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc)/float64(n), "heap-B/row")
			if got := len(cfg.Recipients["customers"].Recipients); got != n-n/10 {
				b.Fatalf("%d recipients, want %d", got, n-n/10)
			}
			runtime.KeepAlive(cfg)
		})
	}
}

// BenchmarkRender renders messages for the recipients of a 1M-row file, one
// recipient per iteration: the template message (column references and a
// constant) and a text message with function calls in a string template.
func BenchmarkRender(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	dir := writeBenchDir(b, n)
	cfg, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		b.Fatal(diagText(cfg.Files, diags))
	}
	c := cfg.Campaigns[0]
	rs := c.Recipients.Recipients
	for _, m := range c.Messages {
		b.Run(m.Name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for i := range b.N {
				if _, diags := m.Render(rs[i%len(rs)], nil, ""); diags.HasErrors() {
					b.Fatal(diagText(cfg.Files, diags))
				}
			}
			b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
