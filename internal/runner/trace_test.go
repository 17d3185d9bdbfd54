package runner_test

import (
	"context"
	"os"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/testkit"
	"github.com/batonhq/baton/internal/tracing"
	"github.com/batonhq/baton/test/proc"
)

const reviewThenPay = `{"id":"rp","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask"},
 {"id":"pay","type":"serviceTask","taskType":"pay"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"pay"},{"id":"f3","source":"pay","target":"end"}]}`

// TestTraceJoinsAcrossRestart: the instance's root span context is kept
// with the instance, so a runner started later (a restart, another
// node), with a tracer provider of its own, puts the task's completion,
// the job and the job's result into the instance's trace, and hands the
// job's span to the handler. On SQLite, and on PostgreSQL when
// BATON_TEST_POSTGRES is set.
func TestTraceJoinsAcrossRestart(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { traceJoinsAcrossRestart(t, testkit.SQLite(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(context.Background(), proc.FreshSchemaURL(t, url, "runner_trace"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		traceJoinsAcrossRestart(t, st)
	})
}

func traceJoinsAcrossRestart(t *testing.T, st store.Store) {
	ctx := context.Background()
	rec1 := tracetest.NewSpanRecorder()
	r1 := runner.New(runner.Config{Store: st, Tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec1))})
	if _, _, err := r1.Deploy(ctx, "rp.json", []byte(reviewThenPay), "test"); err != nil {
		t.Fatal(err)
	}
	caller := tracing.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	state, _, err := r1.StartInstance(trace.ContextWithRemoteSpanContext(ctx, caller), runner.StartRequest{DefinitionID: "rp"})
	if err != nil {
		t.Fatal(err)
	}
	ended := rec1.Ended()
	if len(ended) != 1 || ended[0].Name() != "instance rp" {
		t.Fatalf("start: spans %v, want the root alone", names(ended))
	}
	root := ended[0]
	if root.Parent().SpanID() != caller.SpanID() || root.SpanContext().TraceID() != caller.TraceID() {
		t.Fatalf("root's parent %v, want the caller's span %v", root.Parent(), caller)
	}
	if got := tracing.ParseTraceparent(state.Trace); got.SpanID() != root.SpanContext().SpanID() {
		t.Fatalf("state.Trace %q does not name the root span %s", state.Trace, root.SpanContext().SpanID())
	}

	// Another process: the first runner never started; the second has
	// a tracer provider of its own.
	rec2 := tracetest.NewSpanRecorder()
	handlerSpan := make(chan trace.SpanContext, 1)
	r2 := testkit.Runner(t, runner.Config{Store: st, Tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec2))}, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			handlerSpan <- trace.SpanContextFromContext(ctx)
			return nil, nil
		}))
	})
	tasks, err := st.Tasks(ctx, store.TaskFilter{InstanceID: state.InstanceID})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks %v, %v", tasks, err)
	}
	if _, err := r2.CompleteTask(ctx, tasks[0].ID, nil, "ann"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitState(t, r2, state.InstanceID, func(s *engine.State) bool { return s.Status == engine.StatusCompleted })
	var spans []sdktrace.ReadOnlySpan
	testkit.Eventually(t, 5*time.Second, func() bool { spans = rec2.Ended(); return len(spans) >= 3 })
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.SpanContext().TraceID() != caller.TraceID() {
			t.Errorf("span %q is in trace %s, not the instance's", s.Name(), s.SpanContext().TraceID())
		}
		byName[s.Name()] = s
	}
	task, job, done := byName["transition completeTask"], byName["job service pay"], byName["transition completeJob"]
	if task == nil || job == nil || done == nil {
		t.Fatalf("spans %v, want the task's transition, the job and its result", names(spans))
	}
	rootID := root.SpanContext().SpanID()
	if task.Parent().SpanID() != rootID || job.Parent().SpanID() != rootID {
		t.Errorf("task transition's parent %s, job's %s; want the root %s", task.Parent().SpanID(), job.Parent().SpanID(), rootID)
	}
	if done.Parent().SpanID() != job.SpanContext().SpanID() {
		t.Errorf("the job result's transition has parent %s, want the job %s", done.Parent().SpanID(), job.SpanContext().SpanID())
	}
	if sc := <-handlerSpan; sc.SpanID() != job.SpanContext().SpanID() {
		t.Errorf("the handler's context holds span %s, want the job's %s", sc.SpanID(), job.SpanContext().SpanID())
	}
}

// TestTracingOff: without a tracer provider nothing is traced: no trace
// is kept with the instance, even when the caller sent one, and handlers
// get a context without a span.
func TestTracingOff(t *testing.T) {
	handlerSpan := make(chan trace.SpanContext, 1)
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			handlerSpan <- trace.SpanContextFromContext(ctx)
			return nil, nil
		}))
	})
	b.deploy(t, service)
	caller := tracing.ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	st, _, err := b.r.StartInstance(trace.ContextWithRemoteSpanContext(b.ctx, caller), runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Trace != "" {
		t.Errorf("state.Trace = %q with tracing off", st.Trace)
	}
	if sc := <-handlerSpan; sc.IsValid() {
		t.Errorf("handler context holds span %v with tracing off", sc)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}
