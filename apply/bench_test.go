package apply_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/time/rate"

	"github.com/ujumbe/ujumbe/apply"
	"github.com/ujumbe/ujumbe/bench/fixture"
	"github.com/ujumbe/ujumbe/briq"
	"github.com/ujumbe/ujumbe/internal/pgtest"
	"github.com/ujumbe/ujumbe/plan"
	"github.com/ujumbe/ujumbe/sandbox"
	"github.com/ujumbe/ujumbe/state"
)

// benchSeconds is how long each run sends at its rate; rate × benchSeconds
// recipients are planned and sent.
const benchSeconds = 10

// benchLatency is the sandbox's answer delay for every request.
const benchLatency = 100 * time.Millisecond

// BenchmarkApply sends rate × 10 s of template messages with apply.Run — a
// real state.Store (fdatasync'd intents and results), the briq client and a
// sandbox answering after 100 ms, all in this process over loopback — and
// reports from the sandbox's accept times (sandbox clock = wall clock):
//
//   - sends/s: (sends − 1) / (last accept − first accept), the sustained
//     rate (n sends span n − 1 intervals);
//   - pct-of-rate: sends/s as a percentage of the configured rate; the
//     targets are ≥ 99 % at 80/s and ≥ 95 % at 1,000/s;
//   - acc-max/s: the most accepts in one wall-clock second (Unix-second
//     buckets, as the sandbox's rate limit counts; the partial first and
//     last seconds can only be lower); the target is ≤ the rate;
//   - acc-min/s: the fewest accepts in a wall-clock second other than the
//     partial first and last;
//   - acc-max/1s-sliding: the most accepts in any interval [t, t+1s), a
//     stricter reading of "no second above the rate";
//   - req-max/s and req-max/1s-sliding: the same two counts over the times
//     the requests left the client (taken in a wrapper of the briq client),
//     which is what the rate limiter governs; accept times add the jitter
//     of the loopback connection and of the sandbox's scheduling;
//   - commits/send: the state's commits (fdatasyncs of its journal, or
//     transactions on PostgreSQL) per send: two records a send, shared
//     between concurrent sends by group commit;
//   - cpu-us/send: user + system CPU time of the whole process (ujumbe's
//     side and the sandbox's) divided by sends; sys-us/send the system
//     part (syscalls, loopback TCP, fdatasync, wake-ups);
//   - pg-server-cpu-us/send (path=apply-pg): the CPU time of the postgres
//     processes serving the run (pgCPU), which the process's figure leaves
//     out; pg-session-cpu-us/send the part of it in the sessions on the
//     benchmark's database (the store's connection), the rest being the
//     server's background processes (WAL writer, checkpointer, autovacuum);
//   - 429s: rate-limited answers, for the runs whose sandbox enforces a
//     provider limit equal to the configured rate (a burst of 429s halves
//     apply's rate, which then grows back by a twentieth every 10 s; see
//     apply/throttle.go).
//
// With several iterations, sends/s, pct-of-rate and acc-min/s are the
// worst, the maxima the highest, cpu-us/send and sys-us/send the mean.
// The path=client-only runs send the same requests at the same rate and
// parallelism through the briq client and one rate.Limiter alone, without
// plan items, rendering or the state, so that the difference in
// cpu-us/send is what apply and the state add.
func BenchmarkApply(b *testing.B) {
	for _, tc := range []struct {
		rate        float64
		parallelism int
		paths       []string
		// providerLimit makes the sandbox answer 429 above this many sends
		// per second of its clock (fixed windows), as Briq would.
		providerLimit int
	}{
		{rate: 80, parallelism: 16, paths: []string{"apply", "client-only"}},
		{rate: 1000, parallelism: 128, paths: []string{"apply"}},
		{rate: 1000, parallelism: 256, paths: []string{"apply", "client-only", "apply-pg"}},
		{rate: 80, parallelism: 16, paths: []string{"apply"}, providerLimit: 80},
		{rate: 1000, parallelism: 256, paths: []string{"apply"}, providerLimit: 1000},
	} {
		for _, path := range tc.paths {
			name := fmt.Sprintf("rate=%g/parallelism=%d/path=%s", tc.rate, tc.parallelism, path)
			if tc.providerLimit > 0 {
				name = fmt.Sprintf("rate=%g/parallelism=%d/provider-limit=%d/path=%s", tc.rate, tc.parallelism, tc.providerLimit, path)
			}
			b.Run(name, func(b *testing.B) {
				benchApply(b, tc.rate, tc.parallelism, tc.providerLimit, path != "client-only", path == "apply-pg")
			})
		}
	}
}

// benchApply measures one case; with pg the state is in a schema of its own
// on the UJUMBE_TEST_PG server (skipped without one).
func benchApply(b *testing.B, limit float64, parallelism, providerLimit int, viaApply, pg bool) {
	var dsn string
	if pg {
		dsn = pgtest.DSN(b)
	}
	n := int(limit * benchSeconds)
	dir := b.TempDir()
	if err := fixture.WriteConfig(dir, n); err != nil {
		b.Fatal(err)
	}
	cfg, err := fixture.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := sandbox.New(sandbox.Options{
		APIKey:    "bench",
		Templates: []sandbox.Template{{Name: fixture.TemplateName, Params: fixture.TemplateParams}},
		Faults:    sandbox.Faults{Latency: benchLatency, RateLimit: providerLimit},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bc, err := briq.New(briq.Options{BaseURL: url, APIKey: "bench", MaxConns: parallelism})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	var worst, worstSent runFigures
	var user, sys, server, serverSessions time.Duration
	var limited int
	var commits int64
	b.StopTimer()
	for i := range b.N {
		if err := srv.Reset(); err != nil {
			b.Fatal(err)
		}
		opts := state.Options{Operation: "benchmark"}
		var store *state.Store
		if pg {
			dsn, schema := pgtest.Schema(b)
			store, _, err = state.OpenPG(ctx, state.PG{ConnStr: dsn, Schema: schema}, opts)
		} else {
			store, _, err = state.Open(ctx, filepath.Join(dir, fmt.Sprintf("run%d.state", i)), opts)
		}
		if err != nil {
			b.Fatal(err)
		}
		p, diags := plan.Build(cfg, store.State(), time.Now(), plan.Options{Payloads: true})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		items := make([]*plan.Item, 0, n)
		for j := range p.Items {
			if p.Items[j].Class.Sends() {
				items = append(items, &p.Items[j])
			}
		}
		if len(items) != n {
			b.Fatalf("the plan sends %d, want %d", len(items), n)
		}

		client := &timedClient{Client: bc, times: make([]time.Time, 0, 2*n)}
		user0, sys0 := cpuTime(b)
		serverCPU := startPGCPU(b, dsn)
		b.StartTimer()
		var sent int
		if viaApply {
			var sum apply.Summary
			sum, err = apply.Run(ctx, items, client, store, apply.Options{Rate: limit, Parallelism: parallelism})
			sent = sum.Sent
			limited += sum.RateLimited
		} else {
			sent, err = sendDirect(ctx, items, client, limit, parallelism)
		}
		b.StopTimer()
		user1, sys1 := cpuTime(b)
		user, sys = user+user1-user0, sys+sys1-sys0
		all, sessions := serverCPU.used(b)
		server, serverSessions = server+all, serverSessions+sessions
		if err != nil {
			b.Fatalf("run: %v", err)
		}
		commits += store.Commits()
		if err := store.Close(); err != nil {
			b.Fatal(err)
		}

		stats := srv.Stats()
		if sent != n || stats.Accepted != n || len(stats.Duplicates) > 0 {
			b.Fatalf("sent %d, the sandbox accepted %d with %d duplicates; want %d, %d, 0", sent, stats.Accepted, len(stats.Duplicates), n, n)
		}
		times := make([]time.Time, 0, n)
		for _, m := range stats.Messages {
			times = append(times, m.AcceptedAt)
		}
		worst.merge(figures(times), i == 0)
		worstSent.merge(figures(client.times), i == 0)
	}
	b.ReportMetric(worst.rate, "sends/s")
	b.ReportMetric(100*worst.rate/limit, "pct-of-rate")
	b.ReportMetric(float64(worst.maxFixed), "acc-max/s")
	b.ReportMetric(float64(worst.minFull), "acc-min/s")
	b.ReportMetric(float64(worst.maxSliding), "acc-max/1s-sliding")
	b.ReportMetric(float64(worstSent.maxFixed), "req-max/s")
	b.ReportMetric(float64(worstSent.maxSliding), "req-max/1s-sliding")
	perSend := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(b.N*n) }
	b.ReportMetric(perSend(user+sys), "cpu-us/send")
	b.ReportMetric(perSend(sys), "sys-us/send")
	if viaApply {
		b.ReportMetric(float64(commits)/float64(b.N*n), "commits/send")
	}
	if pg {
		b.ReportMetric(perSend(server), "pg-server-cpu-us/send")
		b.ReportMetric(perSend(serverSessions), "pg-session-cpu-us/send")
	}
	if providerLimit > 0 {
		b.ReportMetric(float64(limited)/float64(b.N), "429s")
	}
}

// timedClient records when each send request leaves, the moment the rate
// limiter governs, as opposed to when the sandbox records it.
type timedClient struct {
	*briq.Client
	mu    sync.Mutex
	times []time.Time
}

func (c *timedClient) SendMessage(ctx context.Context, req *briq.MessageRequest) (*briq.SendResult, error) {
	now := time.Now()
	c.mu.Lock()
	c.times = append(c.times, now)
	c.mu.Unlock()
	return c.Client.SendMessage(ctx, req)
}

// runFigures are the rate figures of one run, or the worst of several.
type runFigures struct {
	rate                          float64
	maxFixed, minFull, maxSliding int
}

// figures computes a run's figures from its accept times.
func figures(times []time.Time) runFigures {
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var f runFigures
	if span := times[len(times)-1].Sub(times[0]); span > 0 {
		f.rate = float64(len(times)-1) / span.Seconds()
	}
	perSecond := map[int64]int{}
	for _, t := range times {
		perSecond[t.Unix()]++
	}
	first, last := times[0].Unix(), times[len(times)-1].Unix()
	f.minFull = -1
	for sec, c := range perSecond {
		f.maxFixed = max(f.maxFixed, c)
		if sec != first && sec != last && (f.minFull < 0 || c < f.minFull) {
			f.minFull = c
		}
	}
	// Every second inside the run has a bucket, even an empty one.
	for sec := first + 1; sec < last; sec++ {
		if perSecond[sec] == 0 {
			f.minFull = 0
		}
	}
	for i, j := 0, 0; j < len(times); j++ {
		for times[j].Sub(times[i]) >= time.Second {
			i++
		}
		f.maxSliding = max(f.maxSliding, j-i+1)
	}
	return f
}

// merge folds g into f, keeping the worst of each figure; first starts over.
func (f *runFigures) merge(g runFigures, first bool) {
	if first {
		*f = g
		return
	}
	f.rate = min(f.rate, g.rate)
	f.minFull = min(f.minFull, g.minFull)
	f.maxFixed = max(f.maxFixed, g.maxFixed)
	f.maxSliding = max(f.maxSliding, g.maxSliding)
}

// pgCPU counts the CPU time of the postgres processes that serve a
// benchmark: the sessions on its database and the server's background
// processes (WAL writer, checkpointer, autovacuum), which its commits keep
// busy, but not the sessions of other databases, which other test runs on
// the machine may keep busy at the same time (their commits do keep the
// shared background processes busy too). getrusage leaves all of them
// out. A nil pgCPU (not pg) counts nothing.
type pgCPU struct {
	dsn   string
	start map[int]time.Duration
}

// startPGCPU starts counting; dsn is "" unless pg.
func startPGCPU(b *testing.B, dsn string) *pgCPU {
	if dsn == "" {
		return nil
	}
	c := &pgCPU{dsn: dsn, start: map[int]time.Duration{}}
	for pid := range c.pids(b) {
		c.start[pid], _ = fixture.PIDCPU(pid)
	}
	return c
}

// used returns the CPU time the processes used since startPGCPU, all of it
// and the sessions' part: all of it for those started since. Processes that
// ended meanwhile drop out.
func (c *pgCPU) used(b *testing.B) (all, sessions time.Duration) {
	if c == nil {
		return 0, 0
	}
	for pid, session := range c.pids(b) {
		if now, ok := fixture.PIDCPU(pid); ok {
			all += now - c.start[pid]
			if session {
				sessions += now - c.start[pid]
			}
		}
	}
	return all, sessions
}

// pids lists the processes counted, from pg_stat_activity: whether each is
// a session on the database (or a background process).
func (c *pgCPU) pids(b *testing.B) map[int]bool {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT pid, backend_type = 'client backend' FROM pg_stat_activity
		WHERE datname = current_database() OR backend_type <> 'client backend'`)
	pids := map[int]bool{}
	var pid int
	var session bool
	_, err = pgx.ForEachRow(rows, []any{&pid, &session}, func() error {
		pids[pid] = session
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return pids
}

// cpuTime is the user and the system CPU time the process has used.
func cpuTime(b *testing.B) (user, sys time.Duration) {
	user, sys, err := fixture.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	return user, sys
}

// sendDirect sends each item's template through c at limit per second from
// parallelism workers sharing one limiter, as apply does, but without
// rendering or recording anything. It returns the number accepted.
func sendDirect(ctx context.Context, items []*plan.Item, c apply.Client, limit float64, parallelism int) (int, error) {
	lim := rate.NewLimiter(rate.Limit(limit), 1)
	work := make(chan *plan.Item)
	var mu sync.Mutex
	var sent int
	var firstErr error
	var wg sync.WaitGroup
	for range parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := lim.Wait(ctx); err != nil {
					return
				}
				name, _ := it.Recipient.Column("name")
				_, err := c.SendMessage(ctx, &briq.MessageRequest{To: it.Phone(), Type: briq.TypeTemplate,
					TemplateName: fixture.TemplateName, Variables: map[string]string{"1": name}})
				mu.Lock()
				if err == nil {
					sent++
				} else if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	return sent, firstErr
}
