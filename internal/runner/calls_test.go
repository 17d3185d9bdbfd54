package runner_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/testkit"
	"github.com/batonhq/baton/test/proc"
)

// eachStore runs test on SQLite and, when BATON_TEST_POSTGRES is set, on
// PostgreSQL in a fresh schema.
func eachStore(t *testing.T, test func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("SQLite", func(t *testing.T) {
		st := testkit.SQLite(t)
		test(t, func(*testing.T) store.Store { return st })
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		schema := proc.FreshSchemaURL(t, url, "runner_calls")
		test(t, func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), schema)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// callSetup starts a runner on st with a "service:double" handler
// (doubled = n * 2) and a "service:boom" handler that always fails for
// good, and deploys the call test definitions.
func callSetup(t *testing.T, st store.Store) *bundle {
	t.Helper()
	r := testkit.Runner(t, runner.Config{Store: st, LeaseFor: 5 * time.Second,
		Retry: runner.RetryPolicy{MaxAttempts: 1, Initial: 10 * time.Millisecond, Factor: 2, Max: time.Second}}, func(r *runner.Runner) {
		r.Register("service:double", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			n, _ := j.Variables["n"].(float64)
			return map[string]any{"doubled": n * 2}, nil
		}))
		r.Register("service:boom", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			return nil, runner.Permanent(errors.New("the boom service is down"))
		}))
	})
	b := &bundle{r: r, st: st, ctx: context.Background()}
	for _, src := range []string{childDoubler, childApproval, childThrower, childBoom} {
		b.deploy(t, src)
	}
	return b
}

const (
	childDoubler = `{"id":"doubler","nodes":[{"id":"s","type":"startEvent"},
 {"id":"double","type":"serviceTask","taskType":"double"},{"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"double"},{"id":"f2","source":"double","target":"e"}]}`
	childApproval = `{"id":"approval","nodes":[{"id":"s","type":"startEvent"},
 {"id":"approve","type":"userTask"},{"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"approve"},{"id":"f2","source":"approve","target":"e"}]}`
	childThrower = `{"id":"thrower","nodes":[{"id":"s","type":"startEvent"},
 {"id":"fail","type":"endEvent","event":{"kind":"error","errorCode":"NO_STOCK"}}],
 "edges":[{"id":"f1","source":"s","target":"fail"}]}`
	childBoom = `{"id":"boom","nodes":[{"id":"s","type":"startEvent"},
 {"id":"call","type":"serviceTask","taskType":"boom"},{"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"call"},{"id":"f2","source":"call","target":"e"}]}`
)

// caller is a parent that calls CALLED (its call activity's extra JSON
// fields in EXTRA), with an error boundary event catching NO_STOCK.
func caller(id, called, extra string) string {
	return strings.NewReplacer("ID", id, "CALLED", called, "EXTRA", extra).Replace(`{"id":"ID","nodes":[
 {"id":"s","type":"startEvent"},
 {"id":"call","type":"callActivity","calledElement":"CALLED"EXTRA},
 {"id":"caught","type":"boundaryEvent","attachedTo":"call","event":{"kind":"error","errorCode":"NO_STOCK"}},
 {"id":"e","type":"endEvent"},{"id":"sorry","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"call"},{"id":"f2","source":"call","target":"e"},{"id":"f3","source":"caught","target":"sorry"}]}`)
}

// children lists the instances parent's call activities started.
func (b *bundle) children(t *testing.T, parent string) []store.InstanceRow {
	t.Helper()
	rows, err := b.st.Instances(b.ctx, store.InstanceFilter{ParentID: parent})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (b *bundle) start(t *testing.T, def string, vars map[string]any) string {
	t.Helper()
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: def, Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	return st.InstanceID
}

func (b *bundle) openIncidents(t *testing.T, id string) []store.IncidentRow {
	t.Helper()
	incs, err := b.st.Incidents(b.ctx, store.IncidentFilter{InstanceID: id, State: store.IncidentOpen})
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

// TestCallActivityVariables: the child instance is linked to its parent,
// gets the parent's variables (all, or only the input mappings), and its
// variables come back (all, only the output mappings, or none).
func TestCallActivityVariables(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		b := callSetup(t, open(t))
		cases := []struct {
			name, extra string
			vars        map[string]any
			childVars   map[string]any // wanted in the child at its end
			parentVars  map[string]any // wanted in the parent at its end
		}{
			{"all both ways", ``, map[string]any{"n": 4.0, "note": "x"},
				map[string]any{"n": 4.0, "note": "x", "doubled": 8.0}, map[string]any{"n": 4.0, "note": "x", "doubled": 8.0}},
			{"only input mappings in", `,"inputs":[{"source":"=m + 1","target":"n"}],"extensions":{"zeebe:propagateAllParentVariables":"false"}`,
				map[string]any{"m": 2.0, "secret": "s"},
				// n is the call activity's local (its input mapping): the
				// child's n lands there and goes with it, as in Zeebe.
				map[string]any{"n": 3.0, "doubled": 6.0}, map[string]any{"m": 2.0, "secret": "s", "doubled": 6.0}},
			{"only output mappings out", `,"outputs":[{"source":"=doubled","target":"result"}]`, map[string]any{"n": 5.0},
				map[string]any{"n": 5.0, "doubled": 10.0}, map[string]any{"n": 5.0, "result": 10.0}},
			{"nothing out", `,"extensions":{"zeebe:propagateAllChildVariables":"false"}`, map[string]any{"n": 1.0},
				map[string]any{"n": 1.0, "doubled": 2.0}, map[string]any{"n": 1.0}},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				def := "caller" + string(rune('a'+i))
				b.deploy(t, caller(def, "doubler", c.extra))
				id := b.start(t, def, c.vars)
				done := b.waitStatus(t, id, engine.StatusCompleted)
				if !sameVars(done.Variables, c.parentVars) {
					t.Errorf("parent variables = %v, want %v", done.Variables, c.parentVars)
				}
				kids := b.children(t, id)
				if len(kids) != 1 || kids[0].DefinitionID != "doubler" || kids[0].ParentNode != "call" || kids[0].ParentJob == "" {
					t.Fatalf("children = %+v, want one doubler instance called from node call", kids)
				}
				child, _, err := b.r.InstanceState(b.ctx, kids[0].ID)
				if err != nil {
					t.Fatal(err)
				}
				if child.Status != engine.StatusCompleted || !sameVars(child.Variables, c.childVars) {
					t.Errorf("child %s variables = %v, want %v", child.Status, child.Variables, c.childVars)
				}
			})
		}
	})
}

func sameVars(got, want map[string]any) bool { return reflect.DeepEqual(got, want) }

// TestCallActivityErrorPropagates: a BPMN error the child throws and
// does not catch reaches the error boundary event of the call activity;
// the child, stopped by it, is cancelled when the call activity is left.
// An error the parent does not catch either is an incident there.
func TestCallActivityErrorPropagates(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		b := callSetup(t, open(t))
		b.deploy(t, caller("shop", "thrower", ""))
		id := b.start(t, "shop", nil)
		b.waitStatus(t, id, engine.StatusCompleted)
		if ids := testkit.CompletedNodes(t, b.st, id); !slices.Contains(ids, "sorry") || slices.Contains(ids, "e") {
			t.Errorf("parent completed %v, want it to end at sorry", ids)
		}
		kids := b.children(t, id)
		if len(kids) != 1 {
			t.Fatalf("children = %+v", kids)
		}
		b.waitStatus(t, kids[0].ID, engine.StatusCancelled)

		// The same error with no boundary event to catch it.
		b.deploy(t, `{"id":"bare","nodes":[{"id":"s","type":"startEvent"},{"id":"call","type":"callActivity","calledElement":"thrower"},
 {"id":"e","type":"endEvent"}],"edges":[{"id":"f1","source":"s","target":"call"},{"id":"f2","source":"call","target":"e"}]}`)
		bare := b.start(t, "bare", nil)
		st := b.waitStatus(t, bare, engine.StatusFailed)
		if len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, "NO_STOCK") || st.Incidents[0].NodeID != "call" {
			t.Errorf("incidents = %+v, want an unhandled NO_STOCK at call", st.Incidents)
		}
	})
}

// TestCallActivityCancel: cancelling the parent cancels the child (and
// its user task); an interrupting boundary event on the call activity
// does too.
func TestCallActivityCancel(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		b := callSetup(t, open(t))
		b.deploy(t, caller("ask", "approval", ""))
		b.deploy(t, strings.Replace(caller("stoppable", "approval", ""), `{"id":"e","type":"endEvent"}`,
			`{"id":"e","type":"endEvent"},{"id":"stop","type":"boundaryEvent","attachedTo":"call","event":{"kind":"message","name":"stop","correlationKey":"=order"}}`, 1))
		for _, how := range []string{"cancel", "boundary"} {
			def := map[string]string{"cancel": "ask", "boundary": "stoppable"}[how]
			id := b.start(t, def, map[string]any{"order": "o-" + how})
			kid := b.child(t, id)
			b.waitStatus(t, kid, engine.StatusWaiting)
			// The parent's call job is closed while the child runs: the
			// watchdog must not take the parent for stuck.
			if n, err := b.r.Watchdog(b.ctx); n != 0 || err != nil {
				t.Fatalf("Watchdog = %d, %v; want nothing flagged", n, err)
			}
			if how == "cancel" {
				if _, err := b.r.Cancel(b.ctx, id, "test"); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := b.r.Correlate(b.ctx, "stop", "o-boundary", "", nil, "test"); err != nil {
					t.Fatal(err)
				}
				b.waitStatus(t, id, engine.StatusCompleted)
			}
			b.waitStatus(t, kid, engine.StatusCancelled)
			tasks, err := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: kid, State: store.TaskCancelled})
			if err != nil || len(tasks) != 1 {
				t.Errorf("%s: child's cancelled tasks = %d, %v; want 1", how, len(tasks), err)
			}
			if incs := b.openIncidents(t, id); len(incs) != 0 {
				t.Errorf("%s: the parent has incidents %+v", how, incs)
			}
		}
	})
}

// child waits for the one instance parent's call activity starts.
func (b *bundle) child(t *testing.T, parent string) string {
	t.Helper()
	var kid string
	if !testkit.Eventually(t, 10*time.Second, func() bool {
		if kids := b.children(t, parent); len(kids) == 1 {
			kid = kids[0].ID
		}
		return kid != ""
	}) {
		t.Fatalf("instance %s started no child", parent)
	}
	return kid
}

// TestCallActivityIncidents: a call activity naming a process that is not
// deployed is an incident naming both; a child that fails gives its
// parent an incident naming the child, resolved when the child is
// recovered and completes the call.
func TestCallActivityIncidents(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		b := callSetup(t, open(t))
		b.deploy(t, caller("lost", "nowhere", ""))
		id := b.start(t, "lost", nil)
		st := b.waitStatus(t, id, engine.StatusFailed)
		if len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, `call activity "call"`) ||
			!strings.Contains(st.Incidents[0].Message, `"nowhere"`) {
			t.Errorf("incidents = %+v, want one naming the call activity and the process", st.Incidents)
		}
		// Once the process is deployed, retrying the call starts it.
		b.deploy(t, strings.Replace(childDoubler, `"id":"doubler"`, `"id":"nowhere"`, 1))
		if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: id, Actor: "ops"}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, id, engine.StatusCompleted)
		if kids := b.children(t, id); len(kids) != 1 || kids[0].DefinitionID != "nowhere" {
			t.Errorf("children after the retry = %+v", kids)
		}

		b.deploy(t, caller("fragile", "boom", ""))
		id = b.start(t, "fragile", nil)
		var kid string
		if !testkit.Eventually(t, 10*time.Second, func() bool {
			incs := b.openIncidents(t, id)
			if len(incs) == 1 {
				kids := b.children(t, id)
				kid = kids[0].ID
				return strings.Contains(incs[0].Message, kid) && incs[0].Kind == runner.IncidentCall && incs[0].NodeID == "call"
			}
			return false
		}) {
			t.Fatalf("parent incidents = %+v, want one naming the child", b.openIncidents(t, id))
		}
		b.waitStatus(t, kid, engine.StatusFailed)
		// Cancelling such a parent cancels the failed child and resolves
		// the parent's incident.
		other := b.start(t, "fragile", nil)
		if !testkit.Eventually(t, 10*time.Second, func() bool { return len(b.openIncidents(t, other)) == 1 }) {
			t.Fatal("the second fragile parent has no incident")
		}
		otherKid := b.child(t, other)
		if _, err := b.r.Cancel(b.ctx, other, "ops"); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, otherKid, engine.StatusCancelled)
		if !testkit.Eventually(t, 10*time.Second, func() bool { return len(b.openIncidents(t, other)) == 0 }) {
			t.Errorf("the cancelled parent keeps its incidents %+v", b.openIncidents(t, other))
		}
		// The operator skips the failed task in the child.
		if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: kid, Action: "skip", Actor: "ops"}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, id, engine.StatusCompleted)
		if incs := b.openIncidents(t, id); len(incs) != 0 {
			t.Errorf("parent incidents after the child recovered: %+v", incs)
		}
	})
}

// TestCallActivityRestart: a child waiting at a user task survives a
// restart of the runner; completing it afterwards completes the parent,
// once.
func TestCallActivityRestart(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(*testing.T) store.Store) {
		st := open(t)
		first := runner.New(runner.Config{Store: st, PollInterval: 20 * time.Millisecond})
		if err := first.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		b := &bundle{r: first, st: st, ctx: context.Background()}
		b.deploy(t, childApproval)
		b.deploy(t, caller("ask", "approval", `,"outputs":[{"source":"=approved","target":"ok"}]`))
		id := b.start(t, "ask", map[string]any{"n": 1.0})
		var tasks []store.TaskRow
		if !testkit.Eventually(t, 10*time.Second, func() bool {
			tasks, _ = st.Tasks(b.ctx, store.TaskFilter{})
			return len(tasks) == 1
		}) {
			t.Fatal("the child's task never opened")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := first.Stop(ctx); err != nil {
			t.Fatal(err)
		}

		second := testkit.Runner(t, runner.Config{Store: st}, nil)
		b.r = second
		if _, err := second.CompleteTask(b.ctx, tasks[0].ID, map[string]any{"approved": true}, "ann"); err != nil {
			t.Fatal(err)
		}
		done := b.waitStatus(t, id, engine.StatusCompleted)
		if done.Variables["ok"] != true {
			t.Errorf("parent variables = %v, want ok=true", done.Variables)
		}
		n := 0
		for _, node := range testkit.CompletedNodes(t, b.st, id) {
			if node == "call" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the call activity completed %d times, want 1", n)
		}
	})
}

// TestCallActivityMultiInstance: a parallel multi-instance call activity
// starts one child per item, each with its item, and completes when all
// have.
func TestCallActivityMultiInstance(t *testing.T) {
	b := callSetup(t, testkit.SQLite(t))
	b.deploy(t, caller("fanout", "doubler", `,"multiInstance":{"collection":"=items","elementVariable":"n"}`))
	id := b.start(t, "fanout", map[string]any{"items": []any{1, 2, 3}})
	b.waitStatus(t, id, engine.StatusCompleted)
	kids := b.children(t, id)
	var got []float64
	for _, k := range kids {
		st, _, err := b.r.InstanceState(b.ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != engine.StatusCompleted || st.Variables["doubled"] != 2*st.Variables["n"].(float64) {
			t.Errorf("child %s: %s %v", k.ID, st.Status, st.Variables)
		}
		got = append(got, st.Variables["n"].(float64))
	}
	slices.Sort(got)
	if !slices.Equal(got, []float64{1, 2, 3}) {
		t.Errorf("children's items = %v, want 1 2 3", got)
	}
}
