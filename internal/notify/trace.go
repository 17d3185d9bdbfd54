package notify

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// sendSpan starts the span of one delivery, a child of the span in ctx
// (a send task's job). Without one (tracing off, or a lifecycle
// notification from the outbox) it returns ctx and a no-op span. The
// recipients, subject and body are not recorded: they are personal data.
func sendSpan(ctx context.Context, m Message) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent
	}
	attrs := []attribute.KeyValue{attribute.String("baton.notify.channel", m.Channel), attribute.Int("baton.notify.recipients", len(m.To))}
	if m.Event != "" {
		attrs = append(attrs, attribute.String("baton.notify.event", m.Event))
	}
	if m.InstanceID != "" {
		attrs = append(attrs, attribute.String("baton.instance.id", m.InstanceID))
	}
	return parent.TracerProvider().Tracer("github.com/batonhq/baton/internal/notify").Start(ctx, "notify "+m.Channel,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
}

func endSend(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
