package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

var now = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// TestPrepareDefaults: every default Transition documents, filled on the
// transition's copy and never on the caller's rows.
func TestPrepareDefaults(t *testing.T) {
	earlier := now.Add(-time.Hour)
	later := now.Add(time.Hour)
	in := store.Transition{
		Instance: store.InstanceRow{ID: "i1", Version: 4, UpdatedAt: now},
		History: []store.HistoryRow{
			{InstanceID: "other", Checkpoint: 99, Action: "started"},
			{Action: "completed", Time: earlier},
		},
		NewJobs: []store.JobRow{
			{ID: "j1"},
			{ID: "j2", CreatedAt: earlier},
			{ID: "j3", RunAt: later, State: store.JobRunning},
		},
		NewTasks:     []store.TaskRow{{ID: "t1"}, {ID: "t2", CreatedAt: earlier, State: store.TaskCompleted}},
		NewSubs:      []store.SubscriptionRow{{ID: "s1"}},
		NewIncidents: []store.IncidentRow{{ID: "n1"}, {ID: "n2", State: store.IncidentResolved}},
		Outbox:       []store.OutboxRow{{ID: "o1"}, {ID: "o2", CreatedAt: earlier}, {ID: "o3", RunAt: later, State: store.OutboxSent}},
		Decisions:    []store.DecisionRow{{ID: "d1"}, {ID: "d2", CreatedAt: earlier}},
	}
	tr := in
	if err := store.Prepare(&tr); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	for i, h := range tr.History {
		if h.InstanceID != "i1" || h.Checkpoint != 4 {
			t.Errorf("history %d: instance %q checkpoint %d, want i1 and 4", i, h.InstanceID, h.Checkpoint)
		}
	}
	if got := tr.History[0].Time; !got.Equal(now) {
		t.Errorf("history 0 time = %v, want now %v", got, now)
	}
	if got := tr.History[1].Time; !got.Equal(earlier) {
		t.Errorf("history 1 time = %v, want its own %v", got, earlier)
	}
	for _, tc := range []struct {
		what             string
		created, runAt   time.Time
		wantC, wantR     time.Time
		state, wantState string
	}{
		{"job j1", tr.NewJobs[0].CreatedAt, tr.NewJobs[0].RunAt, now, now, tr.NewJobs[0].State, store.JobAvailable},
		{"job j2", tr.NewJobs[1].CreatedAt, tr.NewJobs[1].RunAt, earlier, earlier, tr.NewJobs[1].State, store.JobAvailable},
		{"job j3", tr.NewJobs[2].CreatedAt, tr.NewJobs[2].RunAt, now, later, tr.NewJobs[2].State, store.JobRunning},
		{"task t1", tr.NewTasks[0].CreatedAt, time.Time{}, now, time.Time{}, tr.NewTasks[0].State, store.TaskOpen},
		{"task t2", tr.NewTasks[1].CreatedAt, time.Time{}, earlier, time.Time{}, tr.NewTasks[1].State, store.TaskCompleted},
		{"sub s1", tr.NewSubs[0].CreatedAt, time.Time{}, now, time.Time{}, "", ""},
		{"incident n1", tr.NewIncidents[0].CreatedAt, time.Time{}, now, time.Time{}, tr.NewIncidents[0].State, store.IncidentOpen},
		{"incident n2", tr.NewIncidents[1].CreatedAt, time.Time{}, now, time.Time{}, tr.NewIncidents[1].State, store.IncidentResolved},
		{"outbox o1", tr.Outbox[0].CreatedAt, tr.Outbox[0].RunAt, now, now, tr.Outbox[0].State, store.OutboxPending},
		{"outbox o2", tr.Outbox[1].CreatedAt, tr.Outbox[1].RunAt, earlier, earlier, tr.Outbox[1].State, store.OutboxPending},
		{"outbox o3", tr.Outbox[2].CreatedAt, tr.Outbox[2].RunAt, now, later, tr.Outbox[2].State, store.OutboxSent},
		{"decision d1", tr.Decisions[0].CreatedAt, time.Time{}, now, time.Time{}, "", ""},
		{"decision d2", tr.Decisions[1].CreatedAt, time.Time{}, earlier, time.Time{}, "", ""},
	} {
		if !tc.created.Equal(tc.wantC) || !tc.runAt.Equal(tc.wantR) || tc.state != tc.wantState {
			t.Errorf("%s: CreatedAt %v RunAt %v State %q, want %v, %v, %q", tc.what, tc.created, tc.runAt, tc.state, tc.wantC, tc.wantR, tc.wantState)
		}
	}
	// The caller's rows are untouched.
	if in.History[0].InstanceID != "other" || !in.NewJobs[0].CreatedAt.IsZero() || in.NewTasks[0].State != "" ||
		!in.NewSubs[0].CreatedAt.IsZero() || in.NewIncidents[0].State != "" || in.Outbox[0].State != "" ||
		!in.Decisions[0].CreatedAt.IsZero() {
		t.Errorf("Prepare changed the caller's rows: %+v", in)
	}
}

// TestPrepareRefuses: what no implementation may write, refused before
// any SQL with an error that names the row.
func TestPrepareRefuses(t *testing.T) {
	inst := store.InstanceRow{ID: "i1", Version: 1, UpdatedAt: now}
	for _, tc := range []struct {
		name string
		tr   store.Transition
		want string
	}{
		{"history without instance", store.Transition{History: []store.HistoryRow{{Action: "x"}}}, "history without an instance"},
		{"command without instance", store.Transition{Command: []byte(`{}`)}, "a command without an instance"},
		{"version 0", store.Transition{Instance: store.InstanceRow{ID: "i1"}}, "version 0, want >= 1"},
		{"done job not final", store.Transition{Instance: inst, DoneJob: &store.JobDone{ID: "j1", State: store.JobRunning}}, `done job j1: state "running" is not final`},
		{"close task not final", store.Transition{Instance: inst, CloseTasks: []store.TaskClose{{ID: "t1", State: store.TaskOpen}}}, `close task t1: state "open" is not final`},
		{"job without id", store.Transition{Instance: inst, NewJobs: []store.JobRow{{}}}, "new job without id"},
		{"job without a time", store.Transition{NewJobs: []store.JobRow{{ID: "j1"}}}, "new job j1: no RunAt"},
		{"task without id", store.Transition{Instance: inst, NewTasks: []store.TaskRow{{}}}, "new task without id"},
		{"assignment without a task", store.Transition{AssignTasks: []store.TaskAssign{{To: "ann"}}}, "task assignment without a task id"},
		{"assignment to the same assignee", store.Transition{AssignTasks: []store.TaskAssign{{ID: "t1", From: "ann", To: "ann"}}}, `assign task t1: it has "ann" already`},
		{"outbox without a time", store.Transition{Outbox: []store.OutboxRow{{ID: "o1"}}}, "outbox o1: no RunAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := store.Prepare(&tc.tr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Prepare() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestResolver(t *testing.T) {
	tr := store.Transition{History: []store.HistoryRow{{Actor: "ann"}, {Actor: "bob"}, {}}}
	if got := tr.Resolver(); got != "bob" {
		t.Errorf("Resolver() = %q, want bob (the last actor)", got)
	}
	if got := (&store.Transition{}).Resolver(); got != "" {
		t.Errorf("Resolver() without history = %q, want empty", got)
	}
}

func TestLimits(t *testing.T) {
	for _, tc := range []struct{ n, list, fetch int }{
		{-1, store.DefaultLimit, 1}, {0, store.DefaultLimit, 1}, {1, 1, 1}, {250, 250, 250},
		{store.MaxLimit, store.MaxLimit, store.MaxLimit}, {store.MaxLimit + 1, store.MaxLimit, store.MaxLimit},
	} {
		if got := store.ListLimit(tc.n); got != tc.list {
			t.Errorf("ListLimit(%d) = %d, want %d", tc.n, got, tc.list)
		}
		if got := store.FetchLimit(tc.n); got != tc.fetch {
			t.Errorf("FetchLimit(%d) = %d, want %d", tc.n, got, tc.fetch)
		}
	}
}

func TestStored(t *testing.T) {
	in := time.Date(2026, 3, 1, 10, 30, 0, 123456789, time.FixedZone("CET", 3600))
	want := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	if got := store.Stored(in); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Stored(%v) = %v, want %v in UTC", in, got, want)
	}
	if got := store.Stored(time.Time{}); !got.IsZero() {
		t.Errorf("Stored(zero) = %v, want zero", got)
	}
}

func TestFetchParamsCheck(t *testing.T) {
	ok := store.FetchParams{Owner: "w1", Now: now, LeaseFor: time.Minute}
	if err := ok.Check("fetch jobs"); err != nil {
		t.Errorf("Check(%+v) = %v", ok, err)
	}
	for _, tc := range []struct {
		p    store.FetchParams
		want string
	}{
		{store.FetchParams{Now: now, LeaseFor: time.Minute}, "fetch jobs: empty owner"},
		{store.FetchParams{Owner: "w1", Now: now}, "fetch jobs: lease duration 0s, want > 0"},
		{store.FetchParams{Owner: "w1", LeaseFor: time.Minute}, "fetch jobs: zero Now"},
	} {
		if err := tc.p.Check("fetch jobs"); err == nil || err.Error() != tc.want {
			t.Errorf("Check(%+v) = %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestPrepareDefinition(t *testing.T) {
	d := store.DefinitionRow{ID: "loan", DeployedAt: now.Add(123 * time.Nanosecond)}
	if err := store.PrepareDefinition(&d); err != nil {
		t.Fatalf("PrepareDefinition() = %v", err)
	}
	// The SHA-256 of no bytes.
	if want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; d.Hash != want {
		t.Errorf("Hash = %s, want %s", d.Hash, want)
	}
	if d.Source == nil || !d.DeployedAt.Equal(now) {
		t.Errorf("Source %v DeployedAt %v, want empty (not nil) and %v", d.Source, d.DeployedAt, now)
	}
	kept := store.DefinitionRow{ID: "loan", Hash: "given"}
	if err := store.PrepareDefinition(&kept); err != nil || kept.Hash != "given" {
		t.Errorf("PrepareDefinition(hash given) = %v, hash %q", err, kept.Hash)
	}
	if err := store.PrepareDefinition(&store.DefinitionRow{}); err == nil {
		t.Error("PrepareDefinition(no id) = nil, want an error")
	}
}

func TestSortJobs(t *testing.T) {
	jobs := []store.JobRow{{ID: "b", RunAt: now}, {ID: "c", RunAt: now.Add(-time.Second)}, {ID: "a", RunAt: now}}
	store.SortJobs(jobs)
	if got := jobs[0].ID + jobs[1].ID + jobs[2].ID; got != "cab" {
		t.Errorf("SortJobs order = %s, want cab (RunAt, then id)", got)
	}
	rows := []store.OutboxRow{{ID: "b", RunAt: now}, {ID: "a", RunAt: now}}
	store.SortOutbox(rows)
	if rows[0].ID != "a" {
		t.Errorf("SortOutbox order = %s%s, want ab", rows[0].ID, rows[1].ID)
	}
}
