package conformance

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/clock"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testkit"
)

// The call activity models in testdata (call-*.bpmn) are drawn in Camunda
// Modeler style, each file holding the caller and the processes it
// calls. They run in the durable runtime (a runner on SQLite), where the
// called processes are child instances.

// callModel deploys a call-*.bpmn file on a fresh runner and returns it
// with the file's source.
func callModel(t *testing.T, file string, clk clock.Clock) (*runner.Runner, []byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	r := testkit.Runner(t, runner.Config{Clock: clk}, func(r *runner.Runner) {
		r.Register("service:print-label", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			return map[string]any{"tracking": "TRK-" + j.Variables["order"].(string), "carrier": "dhl"}, nil
		}))
	})
	if _, _, err := r.Deploy(context.Background(), file, src, "test"); err != nil {
		t.Fatal(err)
	}
	return r, src
}

// run starts def and waits for status.
func run(t *testing.T, r *runner.Runner, def string, vars map[string]any, status engine.Status) *engine.State {
	t.Helper()
	st, _, err := r.StartInstance(context.Background(), runner.StartRequest{DefinitionID: def, Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	return testkit.WaitState(t, r, st.InstanceID, func(s *engine.State) bool { return s.Status == status })
}

// onlyChild is the one instance parent started, once it has status.
func onlyChild(t *testing.T, r *runner.Runner, parent string, status engine.Status) *engine.State {
	t.Helper()
	var id string
	if !testkit.Eventually(t, 10*time.Second, func() bool {
		kids, err := r.Store().Instances(context.Background(), store.InstanceFilter{ParentID: parent})
		if err == nil && len(kids) == 1 {
			id = kids[0].ID
		}
		return id != ""
	}) {
		t.Fatalf("instance %s started no child", parent)
	}
	return testkit.WaitState(t, r, id, func(s *engine.State) bool { return s.Status == status })
}

// TestCallOrderShipping: deploying the file deploys both processes; the
// order (the process nobody calls) is the one a plain run picks; the
// shipping child gets every order variable and only the output mapping
// comes back.
func TestCallOrderShipping(t *testing.T) {
	r, src := callModel(t, "call-order-shipping.bpmn", nil)
	main, err := bpmn.ParseOne("call-order-shipping.bpmn", src, "")
	if err != nil || main.ID != "Process_Order" {
		t.Fatalf("ParseOne without a process = %v, %v; want Process_Order", main, err)
	}
	for _, id := range []string{"Process_Order", "Process_Shipping"} {
		if _, err := r.Store().Definition(context.Background(), id, 0); err != nil {
			t.Errorf("deployed %s: %v", id, err)
		}
	}
	done := run(t, r, "Process_Order", map[string]any{"order": "A-7"}, engine.StatusCompleted)
	want := map[string]any{"order": "A-7", "trackingId": "TRK-A-7"}
	if !reflect.DeepEqual(done.Variables, want) {
		t.Errorf("order variables = %v, want %v", done.Variables, want)
	}
	child := onlyChild(t, r, done.InstanceID, engine.StatusCompleted)
	if child.DefinitionID != "Process_Shipping" || child.Variables["order"] != "A-7" || child.Variables["carrier"] != "dhl" {
		t.Errorf("shipping child %s: %v", child.DefinitionID, child.Variables)
	}
	if got := testkit.CompletedNodes(t, r.Store(), child.InstanceID); !slices.Equal(got, []string{"StartEvent_Ship", "Task_Label", "EndEvent_Ship"}) {
		t.Errorf("shipping completed %v", got)
	}
}

// TestCallFeelTier: the called process is chosen by a FEEL expression,
// gets only its input mapping, and is the version deployed together with
// the caller (bindingType deployment), not a later one.
func TestCallFeelTier(t *testing.T) {
	r, src := callModel(t, "call-feel-tier.bpmn", nil)
	for tier, want := range map[string]float64{"gold": 40, "basic": 10} {
		done := run(t, r, "Process_Quote", map[string]any{"tier": tier, "order": map[string]any{"total": 200}, "secret": "s"}, engine.StatusCompleted)
		if done.Variables["discount"] != want {
			t.Errorf("%s: discount = %v, want %v", tier, done.Variables["discount"], want)
		}
		child := onlyChild(t, r, done.InstanceID, engine.StatusCompleted)
		if child.DefinitionID != "Process_Tier_"+tier || child.Variables["secret"] != nil || child.Variables["total"] != 200.0 {
			t.Errorf("%s: child %s variables %v, want only total and discount", tier, child.DefinitionID, child.Variables)
		}
	}
	// A later gold version deployed on its own is not the quote's binding.
	later := strings.Replace(string(src), "=total * 20 / 100", "=total * 50 / 100", 1)
	later = strings.Replace(later, `isExecutable="true">`+"\n"+`    <bpmn:startEvent id="StartEvent_Quote"`, `isExecutable="false">`+"\n"+`    <bpmn:startEvent id="StartEvent_Quote"`, 1)
	if _, _, err := r.Deploy(context.Background(), "gold-only.bpmn", []byte(later), "test"); err != nil {
		t.Fatal(err)
	}
	if row, _ := r.Store().Definition(context.Background(), "Process_Tier_gold", 0); row.Version != 2 {
		t.Fatalf("gold latest version = %d, want 2", row.Version)
	}
	if row, _ := r.Store().Definition(context.Background(), "Process_Quote", 0); row.Version != 1 {
		t.Fatalf("quote latest version = %d, want 1 (its process is not executable in the later file)", row.Version)
	}
	done := run(t, r, "Process_Quote", map[string]any{"tier": "gold", "order": map[string]any{"total": 200}}, engine.StatusCompleted)
	if done.Variables["discount"] != 40.0 {
		t.Errorf("discount after a later gold version = %v, want 40 (the version deployed with the quote)", done.Variables["discount"])
	}
	// An unknown tier: an incident naming the call activity and the id.
	failed := run(t, r, "Process_Quote", map[string]any{"tier": "platinum", "order": map[string]any{"total": 1}}, engine.StatusFailed)
	if len(failed.Incidents) != 1 || !strings.Contains(failed.Incidents[0].Message, `"Call_Discount"`) ||
		!strings.Contains(failed.Incidents[0].Message, `"Process_Tier_platinum"`) {
		t.Errorf("incidents = %+v", failed.Incidents)
	}
}

// TestCallPaymentError: the payment process's uncaught error end event
// reaches the checkout's error boundary event; the payment instance is
// cancelled.
func TestCallPaymentError(t *testing.T) {
	r, _ := callModel(t, "call-payment-error.bpmn", nil)
	paid := run(t, r, "Process_Checkout", map[string]any{"amount": 50}, engine.StatusCompleted)
	if got := testkit.CompletedNodes(t, r.Store(), paid.InstanceID); !slices.Contains(got, "EndEvent_Paid") {
		t.Errorf("small amount completed %v, want EndEvent_Paid", got)
	}
	onlyChild(t, r, paid.InstanceID, engine.StatusCompleted)

	declined := run(t, r, "Process_Checkout", map[string]any{"amount": 500}, engine.StatusCompleted)
	got := testkit.CompletedNodes(t, r.Store(), declined.InstanceID)
	if !slices.Contains(got, "EndEvent_Declined") || slices.Contains(got, "EndEvent_Paid") {
		t.Errorf("large amount completed %v, want EndEvent_Declined only", got)
	}
	onlyChild(t, r, declined.InstanceID, engine.StatusCancelled)
}

// TestCallApprovalTimeout: the approval is bound by version tag; an
// interrupting timer on the call activity cancels the waiting approval
// and its user task.
func TestCallApprovalTimeout(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	r, src := callModel(t, "call-approval-timeout.bpmn", clk)
	// A v2 approval deployed later is not what the request calls.
	v2 := strings.Replace(string(src), `<zeebe:versionTag value="v1" />`, `<zeebe:versionTag value="v2" />`, 1)
	v2 = strings.Replace(v2, `name="Approve the purchase"`, `name="Approve (v2)"`, 1)
	if _, _, err := r.Deploy(context.Background(), "v2.bpmn", []byte(v2), "test"); err != nil {
		t.Fatal(err)
	}
	st, _, err := r.StartInstance(context.Background(), runner.StartRequest{DefinitionID: "Process_Request"})
	if err != nil {
		t.Fatal(err)
	}
	child := onlyChild(t, r, st.InstanceID, engine.StatusWaiting)
	if child.DefinitionVersion != 1 {
		t.Errorf("approval version = %d, want 1 (tag v1)", child.DefinitionVersion)
	}
	clk.Advance(48 * time.Hour)
	testkit.WaitState(t, r, st.InstanceID, func(s *engine.State) bool { return s.Status == engine.StatusCompleted })
	if got := testkit.CompletedNodes(t, r.Store(), st.InstanceID); !slices.Contains(got, "EndEvent_Expired") {
		t.Errorf("request completed %v, want EndEvent_Expired", got)
	}
	testkit.WaitState(t, r, child.InstanceID, func(s *engine.State) bool { return s.Status == engine.StatusCancelled })
	tasks, err := r.Store().Tasks(context.Background(), store.TaskFilter{InstanceID: child.InstanceID, State: store.TaskCancelled})
	if err != nil || len(tasks) != 1 {
		t.Errorf("approval's cancelled tasks = %d, %v", len(tasks), err)
	}
}

// TestCallModelsSimulateAndRoundTrip: each call model's main process
// simulates to its end through its called processes, and exporting and
// importing every process keeps the call activity's settings.
func TestCallModelsSimulateAndRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "call-*.bpmn"))
	if len(files) < 4 {
		t.Fatalf("call models: %v", files)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		main, err := bpmn.ParseOne(f, src, "")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var calls int
		res := engine.Simulate(main, map[string]any{"tier": "gold", "amount": 50, "order": "A-1", "total": 10}, engine.SimOptions{
			Called: func(id string) *model.Definition {
				calls++
				d, err := bpmn.ParseOne(f, src, id)
				if err != nil {
					return nil
				}
				return d
			}})
		if res.Outcome != "completed" || calls != 1 {
			t.Errorf("%s: simulation %s after %d calls (%+v)", f, res.Outcome, calls, res.Error)
		}
		defs, err := bpmn.Parse(f, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range defs {
			out, err := bpmn.Export(d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := bpmn.ParseOne(f, out, d.ID)
			if err != nil {
				t.Fatalf("%s %s: re-import: %v", f, d.ID, err)
			}
			if back.VersionTag != d.VersionTag {
				t.Errorf("%s %s: version tag %q after the round trip, want %q", f, d.ID, back.VersionTag, d.VersionTag)
			}
			for _, n := range d.Nodes {
				if n.Type != model.CallActivity {
					continue
				}
				m := back.Node(n.ID)
				if m == nil || m.CalledElement != n.CalledElement || !reflect.DeepEqual(m.Extensions, n.Extensions) {
					t.Errorf("%s %s: call activity %s after the round trip = %+v, want %+v", f, d.ID, n.ID, m, n)
				}
			}
		}
	}
}
