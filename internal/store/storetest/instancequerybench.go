package storetest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// QueryBenchInstances is how many instances BenchmarkInstanceQuery
// seeds: BATON_BENCH_INSTANCES, default 10,000 (docs/benchmarks.md was
// measured with 1,000,000).
func QueryBenchInstances() int {
	if n, err := strconv.Atoi(os.Getenv("BATON_BENCH_INSTANCES")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

// SeedInstances commits n instances spread over 30 days, three
// definitions (two versions each) and every status: 1% FAILED with an
// open incident (four distinct messages), 60% COMPLETED; business keys
// ORD-0000000..; variables amount (0..999,999), customer.id (C-0..C-999)
// and region.
func SeedInstances(tb testing.TB, s store.Store, n int) {
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := s.Commit(ctx, seedTransition(i, n, base)); err != nil {
					select {
					case errs <- fmt.Errorf("seed instance %d: %w", i, err):
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		tb.Fatal(err)
	default:
	}
}

func seedTransition(i, n int, base time.Time) store.Transition {
	id := fmt.Sprintf("q%09d", i)
	created := base.Add(time.Duration(i) * (30 * 24 * time.Hour / time.Duration(n)))
	defs := []string{"loan-approval", "order-fulfilment", "document-review"}
	status := "WAITING"
	var ended time.Time
	switch {
	case i%100 == 7:
		status = "FAILED"
	case i%10 < 6:
		status, ended = "COMPLETED", created.Add(time.Duration(i%600)*time.Second)
	case i%10 == 6:
		status, ended = "CANCELLED", created.Add(time.Hour)
	}
	amount := (i * 7919) % 1_000_000
	in := store.InstanceRow{
		ID: id, DefinitionID: defs[i%3], DefinitionVersion: 1 + i%2, BusinessKey: fmt.Sprintf("ORD-%07d", i), Status: status,
		State: fmt.Appendf(nil, `{"instanceId":%q,"definitionId":%q,"status":%q,"variables":{"amount":%d,"customer":{"id":"C-%d","name":"Customer %d"},"region":"r%d","approved":%v},"tokens":[{"id":1,"node":"review","wait":"task"}],"seq":4}`,
			id, defs[i%3], status, amount, i%1000, i%1000, i%7, i%2 == 0),
		Version: 1, CreatedAt: created, UpdatedAt: created.Add(time.Minute), EndedAt: ended,
	}
	t := store.Transition{Instance: in, Command: []byte(`{"kind":"start"}`)}
	if status == "FAILED" {
		msgs := []string{"POST /payouts: 503 Service Unavailable", "script: division by zero", "no flow matched at route", "POST /stock: timeout after 30s"}
		t.NewIncidents = []store.IncidentRow{{ID: id + "-inc", InstanceID: id, DefinitionID: in.DefinitionID, NodeID: "payout",
			Kind: "job", Message: msgs[(i/100)%4], State: store.IncidentOpen, CreatedAt: created}}
	}
	return t
}

// BenchmarkInstanceQuery times the instance search as the API runs it:
// one page of 50 and the total count, for each kind of filter, over the
// instances SeedInstances made.
func BenchmarkInstanceQuery(b *testing.B, s store.Store, n int) {
	ctx := context.Background()
	cond := func(s string) store.VarCond {
		c, err := store.ParseVarCond(s)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	yes := true
	day := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	newest := store.InstanceQuery{Sort: store.SortCreated, Desc: true}
	with := func(f store.InstanceFilter) store.InstanceFilter {
		if f.Sort == "" {
			f.Sort, f.Desc = store.SortCreated, true
		}
		f.Limit = 50
		return f
	}
	cases := []struct {
		name string
		f    store.InstanceFilter
	}{
		{"none", store.InstanceFilter{InstanceQuery: newest}},
		{"status=FAILED", store.InstanceFilter{Status: "FAILED"}},
		{"definition+version", store.InstanceFilter{DefinitionID: "order-fulfilment", InstanceQuery: store.InstanceQuery{DefinitionVersion: 2}}},
		{"keyPrefix", store.InstanceFilter{InstanceQuery: store.InstanceQuery{BusinessKeyPrefix: fmt.Sprintf("ORD-%05d", n/200)}}},
		{"startedOneDay", store.InstanceFilter{InstanceQuery: store.InstanceQuery{StartedFrom: day, StartedBefore: day.Add(24 * time.Hour)}}},
		{"incident", store.InstanceFilter{InstanceQuery: store.InstanceQuery{HasIncident: &yes}}},
		{"errorText", store.InstanceFilter{InstanceQuery: store.InstanceQuery{ErrorText: "division"}}},
		{"var(amount>999000)", store.InstanceFilter{InstanceQuery: store.InstanceQuery{Vars: []store.VarCond{cond("amount > 999000")}}}},
		{"status+var(customer)", store.InstanceFilter{Status: "FAILED", InstanceQuery: store.InstanceQuery{Vars: []store.VarCond{cond(`customer.id = "C-7"`)}}}},
		{"sort=businessKey", store.InstanceFilter{InstanceQuery: store.InstanceQuery{Sort: store.SortBusinessKey}}},
	}
	for _, c := range cases {
		f := with(c.f)
		b.Run(c.name, func(b *testing.B) {
			var total int
			for b.Loop() {
				if _, err := s.Instances(ctx, f); err != nil {
					b.Fatal(err)
				}
				var err error
				if total, err = s.CountInstances(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}
