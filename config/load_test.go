package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/ujumbe/ujumbe/addrs"
)

// writeDir writes files into a new temporary directory and returns it.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustLoad loads dir and fails the test on any diagnostic.
func mustLoad(t *testing.T, dir string, opts LoadOptions) *Config {
	t.Helper()
	cfg, diags := Load(dir, opts)
	diags = append(diags, cfg.Check()...)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", diagText(cfg.Files, diags))
	}
	return cfg
}

const oneCampaign = `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
campaign "c" {
  recipients = recipients.r
  message "m" {
    template  = "t"
    variables = { "1" = var.v }
  }
}
`

func TestVariablePrecedence(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `variable "v" { default = "default" }` + oneCampaign,
		"r.csv":    "phone\n+255712345678\n",
		"a.hcl":    `v = "file a"`,
		"b.json":   `{"v": "file b"}`,
	})
	env := []string{"UJUMBE_VAR_v=env", "UJUMBE_VAR_undeclared=ignored", "PATH=/bin"}
	tests := []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"default", LoadOptions{}, "default"},
		{"environment", LoadOptions{Env: env}, "env"},
		{"var-file beats environment", LoadOptions{Env: env, VarFiles: []string{filepath.Join(dir, "a.hcl")}}, "file a"},
		{"later var-file wins", LoadOptions{VarFiles: []string{filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.json")}}, "file b"},
		{"-var beats var-file", LoadOptions{Env: env, VarFiles: []string{filepath.Join(dir, "a.hcl")}, Vars: []string{"v=flag"}}, "flag"},
		{"later -var wins", LoadOptions{Vars: []string{"v=one", "v=two=2"}}, "two=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The var-files are not in dir's *.hcl set: a.hcl would be, so
			// the configuration lives in a subdirectory.
			cfg := mustLoad(t, configDir(t, dir), tt.opts)
			m := cfg.Campaigns[0].Messages[0]
			p, diags := m.Render(cfg.Recipients["r"].Recipients[0], nil, "")
			if diags.HasErrors() {
				t.Fatal(diagText(cfg.Files, diags))
			}
			if got := p.Variables["1"]; got != tt.want {
				t.Errorf("var.v = %q, want %q", got, tt.want)
			}
		})
	}
}

// configDir copies main.hcl and r.csv of dir into a subdirectory, so that
// var-files in dir are not part of the configuration.
func configDir(t *testing.T, dir string) string {
	t.Helper()
	sub := filepath.Join(dir, "config")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main.hcl", "r.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return sub
}

func TestVariableTypes(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `
variable "v" { type = string }
variable "n" { type = number }
variable "tags" {
  type    = object({ a = string, b = optional(string, "bee") })
  default = { a = "ay" }
}
variable "key" {
  type      = string
  sensitive = true
}
provider "briq" {
  api_key = var.key
  rate    = var.n
}
` + oneCampaign,
		"r.csv": "phone\n+255712345678\n",
	})
	cfg := mustLoad(t, dir, LoadOptions{Vars: []string{"v=x", "n=2.5", "key=s3cret"}})
	if got := cfg.Provider.Rate; got != 2.5 {
		t.Errorf("rate = %v, want 2.5", got)
	}
	if got := cfg.Provider.APIKey; got != "s3cret" {
		t.Errorf("api key = %q", got)
	}
	v := cfg.root.Variables["var"]
	if !v.GetAttr("key").HasMark(sensitive) {
		t.Errorf("var.key is not marked sensitive")
	}
	if got := v.GetAttr("tags").GetAttr("b").AsString(); got != "bee" {
		t.Errorf("optional attribute default = %q, want bee", got)
	}
	// A complex value on the command line is an HCL expression.
	cfg = mustLoad(t, dir, LoadOptions{Vars: []string{"v=x", "n=1", "key=k", `tags={ a = "A", b = "B" }`}})
	if got := cfg.root.Variables["var"].GetAttr("tags").GetAttr("b").AsString(); got != "B" {
		t.Errorf("tags.b = %q, want B", got)
	}
}

// TestAPIKeyNotSensitive: an API key written in the file, or from a
// variable not marked sensitive, is warned about (a sensitive variable is
// not: TestVariableTypes loads one with no diagnostics), and the warning
// does not print the key.
func TestAPIKeyNotSensitive(t *testing.T) {
	for name, provider := range map[string]string{
		"literal":  `provider "briq" { api_key = "sk_live_123" }`,
		"variable": "variable \"key\" { default = \"sk_live_123\" }\nprovider \"briq\" { api_key = var.key }",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.hcl": provider + "\nvariable \"v\" { default = \"x\" }" + oneCampaign, "r.csv": "phone\n+255712345678\n"})
			cfg, diags := Load(dir, LoadOptions{})
			if diags.HasErrors() || len(diags) != 1 || diags[0].Summary != "API key not sensitive" {
				t.Fatalf("want one warning, got:\n%s", diagText(cfg.Files, diags))
			}
			if text := diagText(cfg.Files, diags); strings.Contains(text, "sk_live") || !strings.Contains(text, "main.hcl line ") {
				t.Errorf("the warning shows the key or not where it is:\n%s", text)
			}
			if cfg.Provider.APIKey != "sk_live_123" {
				t.Errorf("api key %q", cfg.Provider.APIKey)
			}
		})
	}
}

func TestLoadRecipients(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `
recipients "r" {
  csv            = "data/r.csv"
  phone          = row.phone
  key            = "K-${row.id}"
  where          = row.opt_in != "no"
  default_region = "tz"
}
suppress "s" {
  csv            = "data/stop.csv"
  phone          = row.number
  default_region = "TZ"
}
campaign "c" {
  recipients = recipients.r
  message "m" { template = "t" }
}
`,
		// BOM, CRLF, quoted fields with commas, quotes and a line break.
		"data/r.csv": "\xef\xbb\xbfid,name,phone,opt_in\r\n" +
			"1,\"Asha, \"\"A\"\"\",+255 712 345 678,yes\r\n" +
			"2,\"Baraka\r\nJr\",0712345679,no\r\n" +
			"3,Neema,255754123456,\r\n",
		"data/stop.csv": "number\n0754 123 456\n",
	})
	cfg := mustLoad(t, dir, LoadOptions{})
	set := cfg.Recipients["r"]
	type rec struct {
		Key, Phone, Name string
		Line             int
	}
	var got []rec
	for _, r := range set.Recipients {
		name, _ := r.Column("name")
		got = append(got, rec{r.Key, r.Phone, name, r.Line})
	}
	want := []rec{
		{"K-1", "255712345678", `Asha, "A"`, 2},
		{"K-3", "255754123456", "Neema", 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrong recipients (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"id", "name", "phone", "opt_in"}, set.Columns); diff != "" {
		t.Errorf("wrong columns (-want +got):\n%s", diff)
	}
	if _, ok := set.Recipients[0].Column("nope"); ok {
		t.Errorf("Column of a missing column reported ok")
	}
	if block, ok := cfg.Suppressed("255754123456"); !ok || block != "s" {
		t.Errorf("Suppressed = %q, %v", block, ok)
	}
	want2 := Counts{Campaigns: 1, Messages: 1, Recipients: 2, Filtered: 1, Suppressed: 1}
	if diff := cmp.Diff(want2, cfg.Counts()); diff != "" {
		t.Errorf("wrong counts (-want +got):\n%s", diff)
	}
}

func TestLoadCampaign(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `
provider "briq" {
  base_url         = "http://127.0.0.1:8080/"
  sender           = "255700000001"
  burst            = 5
  max_recipients   = 1000
  opt_out_keywords = ["stop", "ACHA"]
}
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
campaign "c" {
  recipients     = recipients.r
  start_at       = "2026-11-27T08:00:00+03:00"
  stop_at        = "2026-11-30T20:00:00Z"
  max_recipients = 50
  send_window {
    from      = "20:00"
    to        = "06:30"
    time_zone = "Africa/Nairobi"
  }
  message "later" {
    after = message.first
    delay = "1d12h"
    when  = reply == null
    text  = "again"
  }
  message "first" {
    template = "t"
  }
}
moved {
  from = campaign.old
  to   = campaign.c
}
moved {
  from = campaign.gone.message.earlier
  to   = campaign.c.message.later
}
`,
		"r.csv": "phone\n+255712345678\n",
	})
	cfg := mustLoad(t, dir, LoadOptions{})
	p := cfg.Provider
	if p.BaseURL != "http://127.0.0.1:8080" || p.Sender != "255700000001" || p.Burst != 5 || p.Rate != 20 || p.MaxRecipients != 1000 {
		t.Errorf("wrong provider %+v", p)
	}
	if diff := cmp.Diff([]string{"stop", "ACHA"}, p.OptOutKeywords); diff != "" {
		t.Errorf("wrong keywords (-want +got):\n%s", diff)
	}
	c := cfg.Campaigns[0]
	if c.StartAt.Format(time.RFC3339) != "2026-11-27T08:00:00+03:00" || !c.StopAt.Equal(time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)) || c.MaxRecipients != 50 {
		t.Errorf("wrong campaign times or size: %v %v %d", c.StartAt, c.StopAt, c.MaxRecipients)
	}
	if c.Window.From != 20*time.Hour || c.Window.To != 6*time.Hour+30*time.Minute {
		t.Errorf("wrong window %v-%v", c.Window.From, c.Window.To)
	}
	loc, diags := c.Window.Location(c.Recipients.Recipients[0])
	if diags.HasErrors() || loc.String() != "Africa/Nairobi" {
		t.Errorf("Location = %v, %v", loc, diags)
	}
	later, first := c.Messages[0], c.Messages[1]
	if later.After != first || later.Delay != 36*time.Hour || !later.HasWhen || later.Kind != KindText || first.Kind != KindTemplate {
		t.Errorf("wrong messages: %+v %+v", later, first)
	}
	if got, want := later.Addr(), (addrs.Pattern{Campaign: "c", Message: "later"}); got != want {
		t.Errorf("Addr = %v, want %v", got, want)
	}
	// Moved addresses are decoded with the ranges of their expressions.
	at := func(line, col, endCol int) hcl.Range {
		return hcl.Range{Filename: filepath.Join(dir, "main.hcl"), Start: hcl.Pos{Line: line, Column: col}, End: hcl.Pos{Line: line, Column: endCol}}
	}
	want := []*Moved{
		{From: addrs.Pattern{Campaign: "old"}, To: addrs.Pattern{Campaign: "c"}, FromRange: at(34, 10, 22), ToRange: at(35, 10, 20)},
		{From: addrs.Pattern{Campaign: "gone", Message: "earlier"}, To: addrs.Pattern{Campaign: "c", Message: "later"},
			FromRange: at(38, 10, 39), ToRange: at(39, 10, 34)},
	}
	ignoreBytes := cmp.FilterPath(func(p cmp.Path) bool {
		s := p.Last().String()
		return s == ".DeclRange" || s == ".Byte"
	}, cmp.Ignore())
	if diff := cmp.Diff(want, cfg.Moved, ignoreBytes); diff != "" {
		t.Errorf("wrong moved (-want +got):\n%s", diff)
	}
}

func TestDefaultProvider(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.hcl": oneCampaign + `variable "v" { default = "x" }`, "r.csv": "phone\n+255712345678\n"})
	cfg := mustLoad(t, dir, LoadOptions{})
	want := &Provider{BaseURL: "https://karibu.briq.tz", Rate: 20, Burst: 1, OptOutKeywords: []string{"STOP", "UNSUBSCRIBE"},
		MaxFailureRate: 0.2, FailureWindow: 200, MaxConsecutiveFailures: 10, PairSpacing: 6 * time.Second}
	if diff := cmp.Diff(want, cfg.Provider); diff != "" {
		t.Errorf("wrong provider (-want +got):\n%s", diff)
	}
	if cfg.FrequencyCap != nil {
		t.Errorf("frequency cap %+v without a frequency_cap block", cfg.FrequencyCap)
	}
}

func TestLimits(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.hcl": oneCampaign + `variable "v" { default = "x" }
frequency_cap {
  max = 2
  per = "7d"
}
provider "briq" {
  daily_first_contacts = 10000
  pair_spacing         = "0s"
}`, "r.csv": "phone\n+255712345678\n"})
	cfg := mustLoad(t, dir, LoadOptions{})
	if got, want := *cfg.FrequencyCap, (FrequencyCap{Max: 2, Per: 168 * time.Hour}); got.Max != want.Max || got.Per != want.Per {
		t.Errorf("frequency cap %+v, want %+v", got, want)
	}
	if p := cfg.Provider; p.DailyFirstContacts != 10000 || p.PairSpacing != 0 {
		t.Errorf("daily_first_contacts %d and pair_spacing %s, want 10000 and 0s", p.DailyFirstContacts, p.PairSpacing)
	}
}

func TestProviderBreaker(t *testing.T) {
	load := func(attrs string) (*Config, hcl.Diagnostics) {
		dir := writeDir(t, map[string]string{"main.hcl": oneCampaign + "variable \"v\" { default = \"x\" }\nprovider \"briq\" {\n" + attrs + "\n}\n", "r.csv": "phone\n+255712345678\n"})
		return Load(dir, LoadOptions{})
	}
	cfg, diags := load("max_failure_rate = 0.5\nfailure_window = 1000\nmax_consecutive_failures = 0")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if p := cfg.Provider; p.MaxFailureRate != 0.5 || p.FailureWindow != 1000 || p.MaxConsecutiveFailures != 0 {
		t.Errorf("wrong breaker: %v, %d, %d", p.MaxFailureRate, p.FailureWindow, p.MaxConsecutiveFailures)
	}
	for _, tt := range []struct{ attrs, want string }{
		{"max_failure_rate = 0", "more than 0 and at most 1"},
		{"max_failure_rate = 20", "more than 0 and at most 1, such as 0.2 for 20%; it is 20."},
		{"failure_window = 5", "failure_window must be at least 10"},
		{"failure_window = 200000", "from 10 to 100000"},
		{"failure_window = 20.5", "must be a whole number"},
		{"max_consecutive_failures = -1", "must be at least 0"},
	} {
		_, diags := load(tt.attrs)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.attrs, diags, tt.want)
		}
	}
}

// TestSized: Load tells the number of sends as soon as the campaigns are
// decoded, while it still looks for duplicate recipients, whose
// diagnostics it still returns, in their place before the campaigns'.
func TestSized(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.hcl": `
recipients "r" {
  csv   = "r.csv"
  phone = row.phone
}
campaign "c" {
  recipients = recipients.r
  message "a" { template = "t" }
  message "b" {
    after = message.a
    text  = "hi"
  }
}
campaign "d" {
  recipients = recipients.r
  message "a" { template = "t" }
}
`,
		"r.csv": "phone\n255712000001\n255712000002\n255712000003\n",
	})
	sized := -1
	cfg := mustLoad(t, dir, LoadOptions{Sized: func(n int) { sized = n }})
	if sized != 9 || cfg.Sends() != 9 {
		t.Errorf("Sized got %d, Sends %d; want 3 recipients × 3 messages", sized, cfg.Sends())
	}

	if err := os.WriteFile(filepath.Join(dir, "r.csv"), []byte("phone\n255712000001\n255712000001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "more.hcl"), []byte("campaign \"e\" {\n  nope = 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sized = -1
	_, diags := Load(dir, LoadOptions{Sized: func(n int) { sized = n }})
	if sized != -1 {
		t.Errorf("Sized called with %d on a configuration with errors", sized)
	}
	if len(diags) < 2 || diags[0].Summary != "Duplicate phone number" {
		t.Errorf("diagnostics, want the duplicate first:\n%s", diags)
	}
}
