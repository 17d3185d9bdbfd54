package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// BenchmarkCommit measures Commit of a small transition: a new instance
// with its start command, three history rows and one job (what the runner
// commits when an instance starts and waits at a service task). With parallelism > 0 it commits
// from parallelism*GOMAXPROCS goroutines (b.SetParallelism), otherwise
// from one. It reports commits/s next to ns/op.
func BenchmarkCommit(b *testing.B, s store.Store, parallelism int) {
	ctx := context.Background()
	now := time.Now().UTC()
	var seq atomic.Int64
	commit := func() error {
		id := fmt.Sprintf("inst-%09d", seq.Add(1))
		return s.Commit(ctx, store.Transition{
			Instance: store.InstanceRow{
				ID: id, DefinitionID: "bench", DefinitionVersion: 1, Status: "WAITING",
				State:   []byte(`{"tokens":[{"id":"t1","node":"pay"}],"vars":{"amount":5000,"applicant":"ann"}}`),
				Version: 1, CreatedAt: now, UpdatedAt: now,
			},
			Command: []byte(`{"kind":"start","time":"2025-03-14T09:26:53.589793Z","instanceId":"` + id +
				`","variables":{"amount":5000,"applicant":"ann"},"actor":"bench"}`),
			History: []store.HistoryRow{
				{NodeID: "start", NodeType: "startEvent", Action: "started"},
				{NodeID: "risk", NodeType: "scriptTask", Action: "completed", Result: []byte(`{"risk":"low"}`)},
				{NodeID: "pay", NodeType: "serviceTask", Action: "entered"},
			},
			NewJobs: []store.JobRow{{
				ID: id + "-pay", InstanceID: id, Kind: "service", NodeID: "pay", RunAt: now,
				Payload: []byte(`{"url":"https://payments.example/payouts","body":{"amount":5000}}`),
			}},
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallelism <= 0 {
		for b.Loop() {
			if err := commit(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := commit(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
