package multinode

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/test/proc"
)

// The scale-out workflow: a start and a timer job, so every instance is
// two transitions and one job leased through FOR UPDATE SKIP LOCKED by
// whichever node polls first. Nothing leaves the machine.
const scaleWorkflow = `{"id":"tick","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"wait","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT0.2S"}}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"wait"},{"id":"f2","source":"wait","target":"end"}]}`

// scaleResult is one node count's figures.
type scaleResult struct {
	nodes               int
	instances           int64
	seconds             float64
	conflicts           float64 // baton_commit_conflicts_total over the nodes
	takeovers           float64 // baton_job_lease_takeovers_total over the nodes
	skipped             float64 // baton_job_fetch_skipped_locked_total: SKIP LOCKED misses
	fetches, shortFetch float64 // baton_job_fetches_total, baton_job_fetches_short_total
	groups, grouped     float64 // baton_group_commits_total, baton_group_commit_transitions_total
	repassed            float64 // baton_group_commit_repassed_total
	lockWaitMax         int     // most backends waiting on a lock in one sample
	lockWaitAvg         float64 // backends waiting on a lock, mean over the samples
	samples, waitedOnce int     // samples; samples with at least one wait
}

// TestScaleOut runs 1, 2 and 3 `baton serve` nodes on one PostgreSQL
// database under the same closed-loop load (starts spread over the
// nodes, each instance a start and a timer job), and reports throughput
// and contention per node count: commit conflicts, lease takeovers,
// SKIP LOCKED misses, the group commit's mean group size and repassed
// groups (all from each node's /metrics), and lock waits sampled from
// pg_stat_activity. It fails if throughput
// collapses as nodes are added (below half of the one-node figure). Set
// BATON_SCALE=1 to run it: it takes about a minute.
func TestScaleOut(t *testing.T) {
	if os.Getenv("BATON_SCALE") == "" {
		t.Skip("SKIP: set BATON_SCALE=1 to run the scale-out measurement")
	}
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("SKIP: BATON_TEST_POSTGRES is not set; the scale-out test needs PostgreSQL")
	}
	bin := proc.Build(t, "../..")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tick.json"), []byte(scaleWorkflow), 0o644); err != nil {
		t.Fatal(err)
	}
	duration := 8 * time.Second
	if d, err := time.ParseDuration(os.Getenv("BATON_SCALE_DURATION")); err == nil && d > 0 {
		duration = d
	}
	var results []scaleResult
	for n := 1; n <= 3; n++ {
		r := runScale(t, bin, url, dir, n, duration)
		results = append(results, r)
		perGroup := 0.0
		if r.groups > 0 {
			perGroup = r.grouped / r.groups
		}
		t.Logf("SCALE RESULT: %d node(s): %d instances in %.1fs = %.0f instances/s (%.0f transitions/s); commit conflicts %.0f, lease takeovers %.0f; skip-locked misses %.0f (%.0f of %.0f fetches short); group commit: %.0f groups, mean %.2f transitions/group, %.0f repassed; lock waits: mean %.2f backends, max %d, in %d of %d samples",
			r.nodes, r.instances, r.seconds, float64(r.instances)/r.seconds, 2*float64(r.instances)/r.seconds,
			r.conflicts, r.takeovers, r.skipped, r.shortFetch, r.fetches, r.groups, perGroup, r.repassed,
			r.lockWaitAvg, r.lockWaitMax, r.waitedOnce, r.samples)
	}
	one := float64(results[0].instances) / results[0].seconds
	for _, r := range results[1:] {
		if rate := float64(r.instances) / r.seconds; rate < one/2 {
			t.Errorf("%d nodes: %.0f instances/s, under half of one node's %.0f/s", r.nodes, rate, one)
		}
	}
}

func runScale(t *testing.T, bin, url, dir string, n int, duration time.Duration) scaleResult {
	t.Helper()
	ctx := context.Background()
	db := proc.FreshSchemaURL(t, url, fmt.Sprintf("scale%d", n))
	nodes := make([]*proc.Node, n)
	for i := range nodes {
		nodes[i] = proc.Start(t, bin, db, dir, 16)
	}
	defer func() {
		for _, nd := range nodes {
			nd.Kill()
		}
	}()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}

	// Lock waits, sampled every 100ms: backends of this schema's nodes are
	// not told apart from others on the server, so the test database
	// should be otherwise quiet.
	res := scaleResult{nodes: n}
	sampler, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer sampler.Close(ctx)
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		total := 0
		for {
			select {
			case <-stop:
				if res.samples > 0 {
					res.lockWaitAvg = float64(total) / float64(res.samples)
				}
				return
			case <-time.After(100 * time.Millisecond):
			}
			var waiting int
			if err := sampler.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&waiting); err != nil {
				continue
			}
			res.samples++
			total += waiting
			res.lockWaitMax = max(res.lockWaitMax, waiting)
			if waiting > 0 {
				res.waitedOnce++
			}
		}
	}()

	client := &http.Client{Timeout: 10 * time.Second}
	var started atomic.Int64
	deadline := time.Now().Add(duration)
	begin := time.Now()
	var wg sync.WaitGroup
	for c := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				nd := nodes[(c+i)%n]
				b, err := proc.Post(client, nd.URL+"/api/runtime/start", `{"definitionId":"tick"}`)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if !strings.Contains(string(b), "instanceId") {
					t.Errorf("start: %s", b)
					return
				}
				started.Add(1)
			}
		}()
	}
	wg.Wait()
	// Wait for the last timers to fire.
	for {
		var left int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM instances WHERE status <> 'COMPLETED'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Since(deadline) > time.Minute {
			t.Fatalf("%d nodes: %d instances not completed a minute after the last start", n, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.seconds = time.Since(begin).Seconds()
	close(stop)
	sampled.Wait()
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM instances`).Scan(&res.instances); err != nil {
		t.Fatal(err)
	}
	if res.instances != started.Load() {
		t.Fatalf("%d nodes: %d instances in the store, %d starts acknowledged", n, res.instances, started.Load())
	}
	var dupFires int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT instance_id FROM history
		WHERE node_id = 'wait' AND action = 'completed' GROUP BY instance_id HAVING count(*) > 1) d`).Scan(&dupFires); err != nil {
		t.Fatal(err)
	}
	if dupFires > 0 {
		t.Fatalf("%d nodes: %d timers completed more than once", n, dupFires)
	}
	for _, nd := range nodes {
		m := scrape(t, client, nd.URL)
		res.conflicts += m["baton_commit_conflicts_total"]
		res.takeovers += m["baton_job_lease_takeovers_total"]
		res.skipped += m["baton_job_fetch_skipped_locked_total"]
		res.fetches += m["baton_job_fetches_total"]
		res.shortFetch += m["baton_job_fetches_short_total"]
		res.groups += m["baton_group_commits_total"]
		res.grouped += m["baton_group_commit_transitions_total"]
		res.repassed += m["baton_group_commit_repassed_total"]
	}
	return res
}

// scrape sums each metric's samples (over their labels) from /metrics.
func scrape(t *testing.T, c *http.Client, base string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", devAdmin)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		name, _, _ := strings.Cut(f[0], "{")
		v, err := strconv.ParseFloat(f[1], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out
}
