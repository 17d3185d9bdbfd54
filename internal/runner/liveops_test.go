package runner_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/testkit"
	"github.com/batonhq/baton/test/proc"
)

// liveV1 waits at a user task with a timer boundary, then runs a service
// task; liveV2 renames the task and the timer.
const liveV1 = `{"id":"live","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","candidateGroups":["clerks"]},
 {"id":"late","type":"boundaryEvent","attachedTo":"review","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"lateEnd","type":"endEvent"},
 {"id":"work","type":"serviceTask","taskType":"work"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"work"},
 {"id":"f3","source":"work","target":"end"},{"id":"f4","source":"late","target":"lateEnd"}]}`

const liveV2 = `{"id":"live","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"check","type":"userTask","candidateGroups":["clerks"]},
 {"id":"late2","type":"boundaryEvent","attachedTo":"check","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"lateEnd","type":"endEvent"},
 {"id":"work","type":"serviceTask","taskType":"work"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"check"},{"id":"f2","source":"check","target":"work"},
 {"id":"f3","source":"work","target":"end"},{"id":"f4","source":"late2","target":"lateEnd"}]}`

var liveMapping = map[string]string{"review": "check", "late": "late2"}

// onBothStores runs fn on SQLite and, when BATON_TEST_POSTGRES is set, on
// PostgreSQL.
func onBothStores(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("SQLite", func(t *testing.T) { fn(t, testkit.SQLite(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(context.Background(), proc.FreshSchemaURL(t, url, "runner_live"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		fn(t, st)
	})
}

func liveRunner(t *testing.T, st store.Store) *bundle {
	t.Helper()
	r := testkit.Runner(t, runner.Config{Store: st, LeaseFor: 5 * time.Second}, func(r *runner.Runner) {
		r.Register("service:work", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			return map[string]any{"worked": true}, nil
		}))
	})
	b := &bundle{r: r, st: st, ctx: context.Background()}
	b.deploy(t, liveV1)
	return b
}

func (b *bundle) startLive(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "live", Version: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.InstanceID)
	}
	return ids
}

func (b *bundle) openTask(t *testing.T, id string) store.TaskRow {
	t.Helper()
	tasks, err := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: id})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("open tasks of %s = %+v, %v", id, tasks, err)
	}
	return tasks[0]
}

func TestModifyThroughRunner(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store) {
		b := liveRunner(t, st)
		id := b.startLive(t, 1)[0]
		task := b.openTask(t, id)
		// Skip the review: cancel it (and its timer) and start work.
		_, err := b.r.Modify(b.ctx, id, []engine.Instruction{{Op: engine.OpCancel, Node: "review"},
			{Op: engine.OpActivate, Node: "work", Variables: map[string]any{"skipped": true}}}, "olga")
		if err != nil {
			t.Fatal(err)
		}
		done := b.waitStatus(t, id, engine.StatusCompleted)
		if done.Variables["worked"] != true || done.Variables["skipped"] != true {
			t.Errorf("variables = %v", done.Variables)
		}
		if got, _ := b.st.Task(b.ctx, task.ID); got.State != store.TaskCancelled {
			t.Errorf("task = %+v, want cancelled", got)
		}
		jobs, _ := b.st.Jobs(b.ctx, store.JobFilter{InstanceID: id, Kind: runner.KindTimer})
		if len(jobs) != 1 || jobs[0].State != store.JobCancelled {
			t.Errorf("timer jobs = %+v, want the one cancelled", jobs)
		}
		hist, _ := b.r.History(b.ctx, id)
		if !slices.ContainsFunc(hist, func(h store.HistoryRow) bool { return h.Action == string(engine.ActModified) && h.Actor == "olga" }) {
			t.Errorf("history has no modification by olga: %+v", hist)
		}
		// A refused modification changes nothing and names the instruction.
		id2 := b.startLive(t, 1)[0]
		before, _ := b.st.Instance(b.ctx, id2)
		_, err = b.r.Modify(b.ctx, id2, []engine.Instruction{{Op: engine.OpCancel, Node: "review"}, {Op: engine.OpActivate, Node: "start"}}, "olga")
		var ie *engine.InstructionError
		if !errors.As(err, &ie) || ie.Index != 1 || ie.Node != "start" {
			t.Fatalf("err = %v, want instruction 1 (start) refused", err)
		}
		if after, _ := b.st.Instance(b.ctx, id2); after.Version != before.Version {
			t.Errorf("refused modification committed: version %d → %d", before.Version, after.Version)
		}
	})
}

func TestMigrateInstance(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store) {
		b := liveRunner(t, st)
		b.deploy(t, liveV2)
		ids := b.startLive(t, 2)
		task := b.openTask(t, ids[0])
		if err := b.r.Claim(b.ctx, task.ID, "carl"); err != nil {
			t.Fatal(err)
		}
		req := runner.MigrateRequest{InstanceID: ids[0], TargetVersion: 2, Mapping: liveMapping, Actor: "olga", DryRun: true}
		out, err := b.r.MigrateInstance(b.ctx, req)
		if err != nil || out.Outcome != runner.Valid || out.From != "live v1" || out.To != "live v2" {
			t.Fatalf("dry run = %+v, %v", out, err)
		}
		if row, _ := b.st.Instance(b.ctx, ids[0]); row.DefinitionVersion != 1 {
			t.Fatalf("dry run migrated the instance")
		}
		req.DryRun = false
		if out, err = b.r.MigrateInstance(b.ctx, req); err != nil || out.Outcome != runner.Migrated {
			t.Fatalf("migrate = %+v, %v", out, err)
		}
		row, _ := b.st.Instance(b.ctx, ids[0])
		moved := b.openTask(t, ids[0])
		if row.DefinitionVersion != 2 || moved.ID != task.ID || moved.NodeID != "check" || moved.Assignee != "carl" {
			t.Errorf("after migration: v%d, task %+v", row.DefinitionVersion, moved)
		}
		timers, _ := b.st.Jobs(b.ctx, store.JobFilter{InstanceID: ids[0], Kind: runner.KindTimer})
		if len(timers) != 1 || timers[0].NodeID != "late2" || timers[0].State != store.JobAvailable {
			t.Errorf("timer jobs = %+v, want one at late2", timers)
		}
		// Again: already there.
		if out, _ = b.r.MigrateInstance(b.ctx, req); out.Outcome != runner.Unchanged {
			t.Errorf("second migration = %+v, want unchanged", out)
		}
		// It runs on under v2.
		if _, err := b.r.CompleteTask(b.ctx, task.ID, nil, "carl"); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, ids[0], engine.StatusCompleted)

		// A mapping that leaves the task unmapped is refused, untouched.
		out, err = b.r.MigrateInstance(b.ctx, runner.MigrateRequest{InstanceID: ids[1], TargetVersion: 2})
		if err != nil || out.Outcome != runner.Refused || out.Reason == "" {
			t.Fatalf("unmapped = %+v, %v", out, err)
		}
		if row, _ := b.st.Instance(b.ctx, ids[1]); row.DefinitionVersion != 1 || row.Version != 1 {
			t.Errorf("refused migration changed the instance: %+v", row)
		}
		if _, err := b.r.MigrateInstance(b.ctx, runner.MigrateRequest{InstanceID: "nope"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown instance: err = %v", err)
		}
	})
}

func waitBatch(t *testing.T, b *bundle, id string) store.BatchRow {
	t.Helper()
	var row store.BatchRow
	if !testkit.Eventually(t, 20*time.Second, func() bool {
		row, _ = b.st.Batch(b.ctx, id)
		return row.State == store.BatchDone
	}) {
		t.Fatalf("batch %s = %+v, not done", id, row)
	}
	return row
}

func TestBatches(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store) {
		b := liveRunner(t, st)
		b.deploy(t, liveV2)
		ids := b.startLive(t, 5)
		// One instance is already ended: a filter leaves it out.
		if _, err := b.r.Cancel(b.ctx, ids[4], "olga"); err != nil {
			t.Fatal(err)
		}
		mig, err := b.r.CreateBatch(b.ctx, runner.BatchRequest{Kind: runner.BatchMigrate,
			Filter: &runner.BatchFilter{DefinitionID: "live", Version: 1}, Mapping: liveMapping}, "olga")
		if err != nil {
			t.Fatal(err)
		}
		if mig.Total != 4 {
			t.Fatalf("migration batch total = %d, want 4", mig.Total)
		}
		if got := waitBatch(t, b, mig.ID); got.Done != 4 || got.Failed != 0 {
			t.Errorf("migration batch = %+v", got)
		}
		for _, id := range ids[:4] {
			if row, _ := b.st.Instance(b.ctx, id); row.DefinitionVersion != 2 {
				t.Errorf("instance %s at v%d after the batch", id, row.DefinitionVersion)
			}
		}
		// A cancel batch over ids: the unknown one fails, the ended one is done.
		can, err := b.r.CreateBatch(b.ctx, runner.BatchRequest{Kind: runner.BatchCancel, InstanceIDs: []string{ids[0], "nope", ids[4]}}, "olga")
		if err != nil {
			t.Fatal(err)
		}
		if got := waitBatch(t, b, can.ID); got.Done != 2 || got.Failed != 1 {
			t.Errorf("cancel batch = %+v", got)
		}
		items, _, _ := b.st.BatchItems(b.ctx, can.ID, store.BatchItemFailed, 0, 0)
		if len(items) != 1 || items[0].InstanceID != "nope" || items[0].Error == "" {
			t.Errorf("failed items = %+v", items)
		}
		if row, _ := b.st.Instance(b.ctx, ids[0]); row.Status != string(engine.StatusCancelled) {
			t.Errorf("instance %s is %s", ids[0], row.Status)
		}
		for _, bad := range []runner.BatchRequest{
			{Kind: "explode", InstanceIDs: ids},
			{Kind: runner.BatchCancel},
			{Kind: runner.BatchMigrate, InstanceIDs: ids, TargetID: "nope"},
		} {
			if _, err := b.r.CreateBatch(b.ctx, bad, "olga"); !errors.Is(err, runner.ErrInvalid) {
				t.Errorf("CreateBatch(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
	})
}

// TestBatchTakenOverAfterLeaseExpiry: a batch leased by a node that died
// is carried out by another once the lease expires.
func TestBatchTakenOverAfterLeaseExpiry(t *testing.T) {
	st := testkit.SQLite(t)
	ctx := context.Background()
	now := time.Now()
	if _, err := st.CreateBatch(ctx, store.BatchRow{ID: "b1", Kind: runner.BatchCancel, Request: []byte(`{"kind":"cancel"}`), CreatedBy: "olga", CreatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	b := liveRunner(t, st)
	ids := b.startLive(t, 3)
	if _, err := st.CreateBatch(ctx, store.BatchRow{ID: "b2", Kind: runner.BatchCancel, Request: []byte(`{"kind":"cancel"}`), CreatedBy: "olga", CreatedAt: now}, ids); err != nil {
		t.Fatal(err)
	}
	// A dead node holds the lease for half a second and finished one item.
	if _, ok, err := st.ClaimBatch(ctx, "dead", now, now.Add(500*time.Millisecond)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, err := b.r.Cancel(ctx, ids[0], "olga"); err != nil {
		t.Fatal(err)
	}
	got := waitBatch(t, b, "b2")
	if got.Done != 3 || got.Failed != 0 {
		t.Errorf("batch = %+v, want 3 done", got)
	}
	items, _, _ := st.BatchItems(ctx, "b2", "", 0, 0)
	if items[0].Error != "the instance had already ended" || items[1].Error != "" {
		t.Errorf("items = %+v", items)
	}
}

// TestRetryBatch: a batch retries the incidents of failed instances; the
// handler now succeeds and they complete. An instance without incident
// counts as done with a note.
func TestRetryBatch(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	r := testkit.Runner(t, runner.Config{LeaseFor: 5 * time.Second}, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			if failing.Load() {
				return nil, runner.Permanent(errors.New("payments down"))
			}
			return map[string]any{"paid": true}, nil
		}))
	})
	b := &bundle{r: r, st: r.Store(), ctx: context.Background()}
	b.deploy(t, service)
	var ids []string
	for range 3 {
		st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.InstanceID)
	}
	for _, id := range ids {
		b.waitStatus(t, id, engine.StatusFailed)
	}
	failing.Store(false)
	if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: ids[2]}); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, ids[2], engine.StatusCompleted)
	batch, err := b.r.CreateBatch(b.ctx, runner.BatchRequest{Kind: runner.BatchRetry, InstanceIDs: ids}, "olga")
	if err != nil {
		t.Fatal(err)
	}
	if got := waitBatch(t, b, batch.ID); got.Done != 3 || got.Failed != 0 {
		t.Errorf("batch = %+v", got)
	}
	for _, id := range ids[:2] {
		b.waitStatus(t, id, engine.StatusCompleted)
	}
	items, _, _ := b.st.BatchItems(b.ctx, batch.ID, "", 0, 0)
	if items[2].Error != "no open incident" {
		t.Errorf("item of the completed instance = %+v", items[2])
	}
}
