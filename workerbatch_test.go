package baton_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
)

// countingTransport counts requests by path and, with noBatch, answers
// complete-batch with 404 as a server from before it would.
type countingTransport struct {
	mu      sync.Mutex
	paths   map[string]int
	noBatch bool
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.URL.Path
	if strings.HasSuffix(key, "/complete") {
		key = "complete"
	}
	c.mu.Lock()
	c.paths[key]++
	c.mu.Unlock()
	if c.noBatch && r.URL.Path == "/api/external-tasks/complete-batch" {
		body := `{"title":"Not Found","status":404,"detail":"no such route"}`
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/problem+json"}},
			Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[key]
}

// runBatchWorker runs 12 charge instances through a worker whose handler
// holds every task until all 12 run, so that their completions queue up
// together, and returns the transport's counts.
func runBatchWorker(t *testing.T, noBatch bool) *countingTransport {
	ctx := context.Background()
	srv, _ := setupClient(t)
	tr := &countingTransport{paths: map[string]int{}, noBatch: noBatch}
	c := baton.NewClient(srv.URL, baton.WithHTTPClient(&http.Client{Transport: tr}))
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	const n = 12
	var ids []string
	for range n {
		inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inst.InstanceID)
	}
	var running atomic.Int32
	all := make(chan struct{})
	w := baton.NewWorker(c, "w1", map[string]baton.WorkerFunc{
		"charge": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			if running.Add(1) == n {
				close(all)
			}
			select {
			case <-all:
			case <-time.After(5 * time.Second):
			}
			return map[string]any{"charged": task.ID}, nil
		},
	}, baton.WorkerOptions{MaxConcurrent: n, WaitFor: 5 * time.Second, Logger: testLogger(t)})
	runWorker(t, w)
	for _, id := range ids {
		inst := waitStatus(t, c, id, baton.StatusCompleted)
		if inst.ProcessData["charged"] == nil {
			t.Errorf("instance %s completed without the worker's output: %v", id, inst.ProcessData)
		}
	}
	return tr
}

// The worker completes tasks that finish together in batches: fewer
// complete-batch requests than tasks, and no single completes.
func TestWorkerCompletesInBatches(t *testing.T) {
	tr := runBatchWorker(t, false)
	batches, singles := tr.count("/api/external-tasks/complete-batch"), tr.count("complete")
	t.Logf("12 tasks: %d complete-batch requests, %d single completes", batches, singles)
	if singles != 0 {
		t.Errorf("%d single completes, want 0", singles)
	}
	if batches == 0 || batches >= 12 {
		t.Errorf("%d complete-batch requests for 12 tasks that finished together, want 1 to 11", batches)
	}
}

// Against a server without complete-batch (404) the worker completes
// each task on its own, and asks for batches no more.
func TestWorkerCompletesSinglyWithoutBatchEndpoint(t *testing.T) {
	tr := runBatchWorker(t, true)
	batches, singles := tr.count("/api/external-tasks/complete-batch"), tr.count("complete")
	if singles != 12 {
		t.Errorf("%d single completes, want 12", singles)
	}
	if batches != 1 {
		t.Errorf("%d complete-batch requests, want 1 (then no more)", batches)
	}
}
