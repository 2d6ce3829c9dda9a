package command

import (
	"encoding/json"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ujumbe/ujumbe/sandbox"
)

var update = flag.Bool("update", false, "rewrite golden files and testscript cmp targets")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ujumbe": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script, where the
// command "ujumbe" is this package's Main in a child process. Scripts can
// start a sandbox with sandbox-start and check what it received with
// sandbox-stats.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Values[scriptSandboxKey{}] = &scriptSandbox{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sandbox-start": sandboxStart,
			"sandbox-stats": sandboxStats,
			"json-rule":     jsonRule,
		},
	})
}

type scriptSandboxKey struct{}

// scriptSandbox holds a script's sandbox once sandbox-start has run.
type scriptSandbox struct{ srv *sandbox.Server }

// sandboxStart starts a sandbox for the script, knowing the templates of
// templates.json in the working directory if there is one, and points
// ujumbe at it with BRIQ_BASE_URL and BRIQ_API_KEY.
// Usage: sandbox-start [-latency D] [-marketing-limit N]
func sandboxStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sandbox-start")
	}
	fs := flag.NewFlagSet("sandbox-start", flag.ContinueOnError)
	latency := fs.Duration("latency", 0, "")
	marketing := fs.Int("marketing-limit", 0, "")
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("sandbox-start: %v", err)
	}
	opts := sandbox.Options{Faults: sandbox.Faults{Latency: *latency, MarketingLimit: *marketing}}
	if tf := ts.MkAbs("templates.json"); fileExists(tf) {
		opts.TemplatesFile = tf
	}
	srv, err := sandbox.New(opts)
	ts.Check(err)
	url, err := srv.Start("127.0.0.1:0")
	ts.Check(err)
	ts.Defer(func() { srv.Close() })
	ts.Value(scriptSandboxKey{}).(*scriptSandbox).srv = srv
	ts.Setenv("BRIQ_BASE_URL", url)
	ts.Setenv("BRIQ_API_KEY", srv.APIKey())
}

// sandboxStats checks a figure of the script's sandbox.
// Usage: sandbox-stats accepted|duplicates|max-per-recipient|max-templates-per-24h|min-pair-gap-seconds|to:PHONE N
// (min-pair-gap-seconds is -1 when no recipient got two messages)
func sandboxStats(ts *testscript.TestScript, neg bool, args []string) {
	srv := ts.Value(scriptSandboxKey{}).(*scriptSandbox).srv
	if srv == nil || len(args) != 2 {
		ts.Fatalf("usage: sandbox-stats accepted|duplicates|max-per-recipient|max-templates-per-24h|min-pair-gap-seconds|to:PHONE N, after sandbox-start")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	st := srv.Stats()
	var got int
	switch args[0] {
	case "accepted":
		got = st.Accepted
	case "duplicates":
		got = len(st.Duplicates)
	case "max-per-recipient":
		for _, n := range st.ByRecipient {
			got = max(got, n)
		}
	case "max-templates-per-24h":
		got = st.MaxTemplatesPer24h
	case "min-pair-gap-seconds":
		got = -1
		if st.MinPairGap != nil {
			got = int(st.MinPairGap.Seconds())
		}
	default:
		// to:PHONE: the messages accepted for one phone.
		phone, ok := strings.CutPrefix(args[0], "to:")
		if !ok {
			ts.Fatalf("sandbox-stats: unknown figure %q", args[0])
		}
		got = st.ByRecipient[phone]
	}
	if (got == want) == neg {
		ts.Fatalf("sandbox %s = %d, want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
	ts.Logf("sandbox %s = %d (at %s)", args[0], got, st.Now.Format(time.RFC3339))
}

// jsonRule checks the stdout of the previous command against the README's
// -json rule: "document" for exactly one JSON object, "lines" for JSON
// Lines of events, each with @timestamp, type and @message.
// Usage: json-rule document|lines
func jsonRule(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: json-rule document|lines")
	}
	out := ts.ReadFile("stdout")
	switch args[0] {
	case "document":
		dec := json.NewDecoder(strings.NewReader(out))
		var doc map[string]json.RawMessage
		if err := dec.Decode(&doc); err != nil {
			ts.Fatalf("stdout is not one JSON object: %v", err)
		}
		if dec.More() || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			ts.Fatalf("stdout holds more than one JSON document")
		}
	case "lines":
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			var ev struct {
				Timestamp string `json:"@timestamp"`
				Type      string `json:"type"`
				Message   string `json:"@message"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Timestamp == "" || ev.Type == "" || ev.Message == "" {
				ts.Fatalf("stdout line %q is not an event (%v)", line, err)
			}
		}
	default:
		ts.Fatalf("usage: json-rule document|lines")
	}
}
