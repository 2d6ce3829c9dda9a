package command

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ujumbe/ujumbe/sandbox"
)

var sandboxCommand = &subcommand{
	name:     "sandbox",
	synopsis: "Run a Briq-compatible API on loopback",
	help: `Usage: ujumbe [global options] sandbox [options]

  Runs a Briq-compatible WhatsApp API on loopback for trying ujumbe without
  an account: sends, interactive messages, message status and listing,
  conversations with the 24-hour window, senders and templates, all with
  Briq's validation and error codes. Statuses advance pending, sent,
  delivered, read; simulated recipients answer interactive messages.
  Prints its URL and API key, then serves until Ctrl-C.

  Point ujumbe at it with BRIQ_BASE_URL (or base_url in the provider
  "briq" block) and the printed key in BRIQ_API_KEY. GET /_sandbox/stats shows what it accepted
  per recipient and any duplicates; POST /_sandbox/advance?by=1h moves its
  clock; POST /_sandbox/reset forgets everything.

Options:
  -listen=ADDR          Loopback address to listen on (default 127.0.0.1:8089).
  -api-key=KEY          Key clients must send (default: a random one).
  -templates=FILE       JSON file of templates:
                        [{"name":"bf_offer","status":"APPROVED","params":["1","2"]}]
  -data=FILE            Keep conversations and messages in FILE across restarts.
  -seed=N               Seed of every random choice (default 0).
  -json                 Print the URL and key as one JSON object.

  Simulated recipients:
  -silent=P             Share of recipients who never answer (default 0.2).
  -answer=ID=WEIGHT     Weight of an interactive option id; repeatable. Without
                        it every option is equally likely; with it, options not
                        named are never chosen.
  -opt-out=P            Share of recipients who answer templates with STOP.

  Faults (P is a probability from 0 to 1):
  -rate=N               Accept at most N sends per second; 429 beyond.
  -retry-after=D        The Retry-After of every 429 (default 1s): the docs
                        allow any.
  -latency=D            Delay every answer by D (e.g. 200ms).
  -jitter=D             Add a random delay up to D.
  -fail-5xx=P           Answer a share of sends 500/502/503, unrecorded.
  -drop-after-accept=P  Record a share of sends, then close the connection.
  -unreachable=P        Share of recipients that are unreachable (422).
  -provider-fail=P      Share of sends failing at the provider (422, recorded).
  -reauth               Fail every send with WHATSAPP_REAUTH_REQUIRED.
  -marketing-limit=N    Meta's per-user marketing limit: a template to a phone
                        that got N in the last 24h gets 422 with code 131049.
  -marketing-limit-late With -marketing-limit, accept such a template (202)
                        and fail it later with 131049, as Meta usually does.
  -no-workspace         Fail every request with 403 WORKSPACE_REQUIRED.

  Answers Briq's documentation allows (off by default):
  -accept-then-500=P    Record a share of sends, then answer 500 with the
                        message_id in the error envelope's data.
  -accept-then-504=P    Record a share of sends, then answer 504 without an id.
  -rate-limit-with-id=P Record a share of sends, then answer 429 with the
                        message_id in data.
  -sent-200             Answer accepted sends 200 "sent" instead of 202 "pending".
  -bare-answer=P        Answer a share of accepted sends with the bare
                        {message_id, status} the G3 pages show, no envelope.
  -null-id=P            Answer a share of accepted sends 202 with message_id
                        null, as the OpenAPI allows.
  -failed-answer=P      Answer a share of sends that fail at the provider 202
                        with status "failed" (recorded, like -provider-fail).
  -record-lag=D         Show what a send records only D after it was answered
                        (Briq's async engine behind).
  -fail-later=P         Accept a share of sends that then fail at WhatsApp
                        (131026), when they would have been delivered.
  -read-fail-5xx=P      Answer a share of reads (GET) 500/502/503.
  -read-rate-limited=P  Answer a share of reads 429 with Retry-After: 1.
  -list-without-status  Leave status out of GET /v1/whatsapp/messages items, as
                        the documented list item has none.
  -opaque-content       Give outbound messages' content in a layout of the
                        sandbox's own: the docs give it no schema.
  -list-active-only     List only the messages of active conversations (24h
                        window open), as Briq's reference says its listing does.
  -numeric-error-codes  Give a failed message's numeric error_code (131026) as a
                        JSON number: the docs give the field no type.
  -derived-error        Give a failed message's reason as "error": {code,
                        message}, not error_code and error_message.
  -derived-reason       Give it as "reason": {code, message} instead.
  -g1-conversations     List conversations in G1's shape: no envelope, no
                        window, the number with a leading +.
  -meta-window-rule     Meta's window rule: only a customer's message opens the
                        24h window; a template alone does not allow follow-ups.
  -whole-replies        Store answers as WhatsApp's whole inbound message
                        ({"type":"text","text":{...}}), not its typed object.
  -unpaired-replies     Give answers no paired_message_id (and the question's
                        GET no reply): the docs do not say how answers pair.

Exit status: 0 after a clean stop, 1 if the sandbox cannot start.
`,
	run: runSandbox,
}

func runSandbox(c *cli, args []string) int {
	fs := c.newFlagSet("sandbox")
	var (
		opts    sandbox.Options
		listen  string
		silent  float64
		answers multiFlag
		v       view
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:8089", "")
	fs.StringVar(&opts.APIKey, "api-key", "", "")
	fs.StringVar(&opts.TemplatesFile, "templates", "", "")
	fs.StringVar(&opts.DataFile, "data", "", "")
	fs.Uint64Var(&opts.Seed, "seed", 0, "")
	fs.BoolVar(&v.json, "json", false, "")
	fs.Float64Var(&silent, "silent", 0.2, "")
	fs.Var(&answers, "answer", "")
	fs.Float64Var(&opts.OptOut, "opt-out", 0, "")
	f := &opts.Faults
	fs.IntVar(&f.RateLimit, "rate", 0, "")
	fs.DurationVar(&f.RetryAfter, "retry-after", 0, "")
	fs.DurationVar(&f.Latency, "latency", 0, "")
	fs.DurationVar(&f.Jitter, "jitter", 0, "")
	fs.Float64Var(&f.Fail5xx, "fail-5xx", 0, "")
	fs.Float64Var(&f.DropAfterAccept, "drop-after-accept", 0, "")
	fs.Float64Var(&f.Unreachable, "unreachable", 0, "")
	fs.Float64Var(&f.ProviderFail, "provider-fail", 0, "")
	fs.BoolVar(&f.Reauth, "reauth", false, "")
	fs.IntVar(&f.MarketingLimit, "marketing-limit", 0, "")
	fs.BoolVar(&f.MarketingLimitLate, "marketing-limit-late", false, "")
	fs.BoolVar(&f.NoWorkspace, "no-workspace", false, "")
	fs.Float64Var(&f.AcceptThen500, "accept-then-500", 0, "")
	fs.Float64Var(&f.AcceptThen504, "accept-then-504", 0, "")
	fs.Float64Var(&f.RateLimitWithID, "rate-limit-with-id", 0, "")
	fs.BoolVar(&f.Sent200, "sent-200", false, "")
	fs.Float64Var(&f.BareAnswer, "bare-answer", 0, "")
	fs.Float64Var(&f.NullID, "null-id", 0, "")
	fs.Float64Var(&f.FailLater, "fail-later", 0, "")
	fs.Float64Var(&f.FailedAnswer, "failed-answer", 0, "")
	fs.DurationVar(&f.RecordLag, "record-lag", 0, "")
	fs.Float64Var(&f.ReadFail5xx, "read-fail-5xx", 0, "")
	fs.Float64Var(&f.ReadRateLimited, "read-rate-limited", 0, "")
	fs.BoolVar(&f.ListWithoutStatus, "list-without-status", false, "")
	fs.BoolVar(&f.OpaqueContent, "opaque-content", false, "")
	fs.BoolVar(&f.ListActiveOnly, "list-active-only", false, "")
	fs.BoolVar(&f.NumericErrorCodes, "numeric-error-codes", false, "")
	fs.BoolVar(&f.DerivedError, "derived-error", false, "")
	fs.BoolVar(&f.DerivedReason, "derived-reason", false, "")
	fs.BoolVar(&f.G1Conversations, "g1-conversations", false, "")
	fs.BoolVar(&opts.MetaWindowRule, "meta-window-rule", false, "")
	fs.BoolVar(&opts.WholeReplies, "whole-replies", false, "")
	fs.BoolVar(&opts.UnpairedReplies, "unpaired-replies", false, "")
	if !c.parseFlags(fs, args) {
		return exitError
	}
	if fs.NArg() > 0 {
		return c.usage(v, "sandbox", "unexpected argument %q", fs.Arg(0))
	}
	opts.Silent = &silent
	if len(answers) > 0 {
		opts.Answers = map[string]float64{}
		for _, a := range answers {
			id, w, ok := strings.Cut(a, "=")
			weight, err := strconv.ParseFloat(w, 64)
			if !ok || id == "" || err != nil {
				return c.usage(v, "", "invalid value %q for flag -answer: want ID=WEIGHT, e.g. yes=3", a)
			}
			opts.Answers[id] = weight
		}
	}
	opts.TemplatesFile, opts.DataFile = c.path(opts.TemplatesFile), c.path(opts.DataFile)

	srv, err := sandbox.New(opts)
	if err != nil {
		return c.fail(v, "Cannot start the sandbox", err)
	}
	url, err := srv.Start(listen)
	if err != nil {
		srv.Close()
		return c.fail(v, "Cannot start the sandbox", err)
	}
	if v.json {
		line, _ := json.Marshal(map[string]string{"url": url, "api_key": srv.APIKey()})
		fmt.Fprintf(c.stdout, "%s\n", line)
	} else {
		fmt.Fprintf(c.stdout, "Sandbox listening on %s\nAPI key: %s\n\nPoint ujumbe at it with, in the environment:\n  export BRIQ_BASE_URL=%s BRIQ_API_KEY=%s\n(or base_url in the provider \"briq\" block). Press Ctrl-C to stop.\n",
			url, srv.APIKey(), url, srv.APIKey())
	}

	end := c.windingDown(stoppingNote)
	<-c.ctx.Done()
	end()
	if err := srv.Close(); err != nil {
		// Its one document, the address, is out already: the problem goes
		// to stderr as text.
		return c.fail(view{}, "Sandbox did not stop cleanly", err)
	}
	if !v.json {
		fmt.Fprintln(c.stdout, "Sandbox stopped.")
	}
	return exitOK
}
