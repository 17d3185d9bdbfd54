package runner

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/tracing"
)

// Tracing: an instance is one trace. Its root span covers the start
// transition, and its traceparent is kept in the instance state
// (engine.State.Trace), so that every later transition and job, on any
// node and after any restart, is a span of the same trace: a transition
// is a child of the job whose result it commits, or of the root; a job is
// a child of the root, and a handler's spans (HTTP calls, LLM calls,
// notifications) are children of the job's, through the context.
//
// Without Config.Tracer every helper returns at once with a no-op span:
// no allocation, no context value.

// instrumentation is the scope name of the runner's spans.
const instrumentation = "github.com/batonhq/baton/internal/runner"

var noopSpan trace.Span = noop.Span{}

// rootSpan starts the span of a new instance. Its parent is the span in
// ctx, if any: a caller's traceparent (POST /api/runtime/start), or the
// job of another instance that started this one.
func (r *Runner) rootSpan(ctx context.Context, d *model.Definition, id string, req StartRequest) (context.Context, trace.Span) {
	if r.tracer == nil {
		return ctx, noopSpan
	}
	attrs := []attribute.KeyValue{
		attribute.String("baton.instance.id", id), attribute.String("baton.definition.id", d.ID),
		attribute.Int("baton.definition.version", d.Version),
	}
	if req.BusinessKey != "" {
		attrs = append(attrs, attribute.String("baton.business_key", req.BusinessKey))
	}
	return r.tracer.Start(ctx, "instance "+d.ID, trace.WithAttributes(attrs...))
}

// transitionSpan starts the span of one command applied to an instance.
// Its parent is the span in ctx when that is already in the instance's
// trace (the job whose result this commits), else the instance's root;
// a span from elsewhere in ctx (a caller's traceparent on complete-task)
// is linked. An instance started while tracing was off has no root:
// the span in ctx, if any, is the parent.
func (r *Runner) transitionSpan(ctx context.Context, st *engine.State, cmd engine.Command) (context.Context, trace.Span) {
	if r.tracer == nil {
		return ctx, noopSpan
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(
		attribute.String("baton.instance.id", st.InstanceID), attribute.String("baton.definition.id", st.DefinitionID),
		attribute.String("baton.command", string(cmd.Kind)))}
	if cmd.Ref != "" {
		opts = append(opts, trace.WithAttributes(attribute.String("baton.ref", cmd.Ref)))
	}
	root, cur := tracing.ParseTraceparent(st.Trace), trace.SpanContextFromContext(ctx)
	if root.IsValid() && !(cur.IsValid() && cur.TraceID() == root.TraceID()) {
		if cur.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: cur}))
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, root)
	}
	return r.tracer.Start(ctx, "transition "+string(cmd.Kind), opts...)
}

// jobSpan starts the span of one attempt of a job, a child of its
// instance's root.
func (r *Runner) jobSpan(ctx context.Context, job *Job) (context.Context, trace.Span) {
	if r.tracer == nil {
		return ctx, noopSpan
	}
	if root := tracing.ParseTraceparent(job.trace); root.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, root)
	}
	attrs := []attribute.KeyValue{
		attribute.String("baton.instance.id", job.InstanceID), attribute.String("baton.job.id", job.ID),
		attribute.String("baton.job.kind", job.Kind), attribute.String("baton.node.id", job.NodeID),
		attribute.Int("baton.job.attempt", job.Attempt),
	}
	if job.TaskType != "" {
		attrs = append(attrs, attribute.String("baton.task.type", job.TaskType))
	}
	return r.tracer.Start(ctx, "job "+job.Kind+" "+job.NodeID, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}

// endSpan ends a span, marking it failed with err.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// spanConflicts records how many optimistic-lock conflicts a transition
// retried through.
func spanConflicts(span trace.Span, n int) {
	if n > 0 && span.IsRecording() {
		span.SetAttributes(attribute.Int("baton.conflicts", n))
	}
}
