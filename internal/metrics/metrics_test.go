package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/metrics"
)

type counts map[string]int

func (c counts) CountJobs(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for k, v := range c {
		out[k] = v
	}
	return out, nil
}

type broken struct{}

func (broken) CountJobs(ctx context.Context) (map[string]int, error) {
	return nil, errors.New("database is gone")
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func TestObserverAndQueueDepth(t *testing.T) {
	m := metrics.New(counts{"available": 3, "running": 1, "completed": 10})
	m.Committed(2*time.Millisecond, 0)
	m.Committed(3*time.Millisecond, 1)
	m.JobDone("service", 40*time.Millisecond, nil)
	m.JobDone("service", 10*time.Millisecond, errors.New("boom"))
	m.InstanceStatus("", "RUNNING")
	m.InstanceStatus("RUNNING", "COMPLETED")

	out := scrape(t, m)
	for _, want := range []string{
		"baton_commit_duration_seconds_count 2",
		"baton_commit_conflicts_total 1",
		`baton_job_duration_seconds_count{error="false",kind="service"} 1`,
		`baton_job_duration_seconds_count{error="true",kind="service"} 1`,
		`baton_instance_status_transitions_total{from="",to="RUNNING"} 1`,
		`baton_instance_status_transitions_total{from="RUNNING",to="COMPLETED"} 1`,
		`baton_jobs{state="available"} 3`,
		`baton_jobs{state="running"} 1`,
		`baton_jobs{state="dead"} 0`,
		`baton_jobs{state="completed"} 10`,
		"go_goroutines",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func TestQueueDepthErrorDoesNotBreakScrape(t *testing.T) {
	m := metrics.New(broken{})
	m.Committed(time.Millisecond, 0)
	out := scrape(t, m)
	if !strings.Contains(out, "baton_commit_duration_seconds_count 1") {
		t.Errorf("scrape with a failing queue collector lost the other metrics:\n%.500s", out)
	}
}

func TestPrivateRegistries(t *testing.T) {
	// Two instances in one process must not collide.
	a, b := metrics.New(nil), metrics.New(nil)
	a.Committed(time.Millisecond, 0)
	if strings.Contains(scrape(t, b), "baton_commit_duration_seconds_count 1") {
		t.Error("metrics leak between registries")
	}
}

func TestLLMCallMetrics(t *testing.T) {
	m := metrics.New(nil)
	m.LLMCall("anthropic", "claude-test", "gateway", 120, 30, 450)
	m.LLMCall("anthropic", "claude-test", "rule", 80, 20, 300)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`baton_llm_tokens_total{direction="input",model="claude-test",provider="anthropic"} 200`,
		`baton_llm_tokens_total{direction="output",model="claude-test",provider="anthropic"} 50`,
		`baton_llm_cost_microdollars_total{model="claude-test",provider="anthropic"} 750`,
		`baton_llm_calls_total{kind="rule",provider="anthropic"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
