// Package storetest is the conformance suite of store.Store: every
// implementation runs Run from its tests, so that SQLite and PostgreSQL
// behave the same way behind the interface.
//
// Each behaviour is one subtest with a fresh store from newStore, parallel
// where that is safe. Times in the fixtures are whole microseconds in UTC,
// the precision both stores keep.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/batonhq/baton/internal/store"
)

// NewStore returns an empty, migrated store that is closed and removed
// when t ends.
type NewStore func(t *testing.T) store.Store

// Run runs the conformance suite against the stores newStore makes.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name string
		fn   func(*testing.T, NewStore)
	}{
		{"Definitions", testDefinitions},
		{"Commit", testCommit},
		{"Commands", testCommands},
		{"Instances", testInstances},
		{"Parents", testParents},
		{"InstanceQuery", testInstanceQuery},
		{"IncidentGroups", testIncidentGroups},
		{"Jobs", testJobs},
		{"Tasks", testTasks},
		{"Subscriptions", testSubscriptions},
		{"Incidents", testIncidents},
		{"Outbox", testOutbox},
		{"Decisions", testDecisions},
		{"Messages", testMessages},
		{"Idempotency", testIdempotency},
		{"Batches", testBatches},
		{"Retention", testRetention},
		{"Times", testTimes},
		{"Ping", testPing},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, newStore)
		})
	}
}

// t0 is the fixtures' reference time: microsecond precision, UTC.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// at returns t0+d truncated to the microsecond.
func at(d time.Duration) time.Time {
	return us(t0.Add(d))
}

// us truncates a time to the microsecond, the precision stores keep.
func us(t time.Time) time.Time {
	return t.Truncate(time.Microsecond)
}

var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func diff(want, got any) string {
	return cmp.Diff(want, got, cmpOpts...)
}

func ctxFor(t *testing.T) context.Context {
	return t.Context()
}

// instance returns version v of an instance row.
func instance(id string, v int64) store.InstanceRow {
	return store.InstanceRow{
		ID:                id,
		DefinitionID:      "loan",
		DefinitionVersion: 1,
		BusinessKey:       "bk-" + id,
		Status:            "RUNNING",
		State:             fmt.Appendf(nil, `{"id":%q,"v":%d}`, id, v),
		Version:           v,
		CreatedAt:         t0,
		UpdatedAt:         at(time.Duration(v) * time.Second),
	}
}

// job returns an available job due at runAt.
func job(id, instanceID string, runAt time.Time) store.JobRow {
	return store.JobRow{
		ID:         id,
		InstanceID: instanceID,
		Kind:       "service",
		NodeID:     "node-" + id,
		TaskType:   "payments",
		State:      store.JobAvailable,
		RunAt:      runAt,
		Payload:    []byte(`{"job":"` + id + `"}`),
		CreatedAt:  t0,
	}
}

func mustCommit(t *testing.T, s store.Store, tr store.Transition) {
	t.Helper()
	if err := s.Commit(ctxFor(t), tr); err != nil {
		t.Fatalf("Commit(%s v%d) = %v", tr.Instance.ID, tr.Instance.Version, err)
	}
}

// startInstance commits version 1 of an instance with one history row.
func startInstance(t *testing.T, s store.Store, id string) store.InstanceRow {
	t.Helper()
	in := instance(id, 1)
	mustCommit(t, s, store.Transition{
		Instance: in,
		History:  []store.HistoryRow{{NodeID: "start", NodeType: "startEvent", Action: "started", Time: in.UpdatedAt}},
	})
	return in
}

// addJobs commits jobs in a transition without an instance.
func addJobs(t *testing.T, s store.Store, jobs ...store.JobRow) {
	t.Helper()
	mustCommit(t, s, store.Transition{NewJobs: jobs})
}

func mustJob(t *testing.T, s store.Store, id string) store.JobRow {
	t.Helper()
	j, err := s.Job(ctxFor(t), id)
	if err != nil {
		t.Fatalf("Job(%s) = %v", id, err)
	}
	return j
}

func mustFetch(t *testing.T, s store.Store, p store.FetchParams) []store.JobRow {
	t.Helper()
	jobs, err := s.FetchJobs(ctxFor(t), p)
	if err != nil {
		t.Fatalf("FetchJobs(%+v) = %v", p, err)
	}
	return jobs
}

func jobIDs(jobs []store.JobRow) []string {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}

func testPing(t *testing.T, newStore NewStore) {
	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if err := s.Ping(ctxFor(t)); err != nil {
			t.Fatalf("Ping() = %v", err)
		}
	})
}

func testTimes(t *testing.T, newStore NewStore) {
	t.Run("RoundTripUTCMicroseconds", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		loc := time.FixedZone("UTC+5:30", 5*3600+1800)
		created := time.Date(2024, 2, 29, 23, 59, 59, 123456789, loc)
		in := instance("times", 1)
		in.CreatedAt = created
		in.UpdatedAt = created.Add(time.Nanosecond * 999)
		mustCommit(t, s, store.Transition{Instance: in})

		got, err := s.Instance(ctxFor(t), "times")
		if err != nil {
			t.Fatalf("Instance() = %v", err)
		}
		if want := us(created).UTC(); !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, want)
		}
		if want := us(created.Add(999)); !got.UpdatedAt.Equal(want) {
			t.Errorf("UpdatedAt = %v, want %v", got.UpdatedAt, want)
		}
		if !got.EndedAt.IsZero() {
			t.Errorf("EndedAt = %v, want zero", got.EndedAt)
		}
	})
	t.Run("BeforeEpoch", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := instance("old", 1)
		in.CreatedAt = time.Date(1969, 7, 20, 20, 17, 40, 1000, time.UTC)
		mustCommit(t, s, store.Transition{Instance: in})
		got, err := s.Instance(ctxFor(t), "old")
		if err != nil {
			t.Fatalf("Instance() = %v", err)
		}
		if !got.CreatedAt.Equal(in.CreatedAt) {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, in.CreatedAt)
		}
	})
}

// LatestMigration returns the version of the last migration in fsys
// (files migrations/NNNNN_name.sql): the schema version a store has after
// Open.
func LatestMigration(t *testing.T, fsys fs.FS) int64 {
	t.Helper()
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	last := path.Base(names[len(names)-1])
	num, _, _ := strings.Cut(last, "_")
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		t.Fatalf("migration %s: %v", last, err)
	}
	return v
}
