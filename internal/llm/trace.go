package llm

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Traced wraps a provider so that each call is a span, a child of the
// span in the call's context (the job's), named and attributed as the
// OpenTelemetry GenAI conventions say: "chat MODEL", gen_ai.system,
// gen_ai.request.model, gen_ai.response.model, gen_ai.usage.input_tokens
// and output_tokens. Without a span in the context the call is not
// traced. Prompts and answers are never recorded: they may hold personal
// data.
func Traced(p Provider) Provider { return traced{p} }

type traced struct{ Provider }

func (t traced) Complete(ctx context.Context, req Request) (*Response, error) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return t.Provider.Complete(ctx, req)
	}
	name := "chat"
	if req.Model != "" {
		name += " " + req.Model
	}
	ctx, span := parent.TracerProvider().Tracer("github.com/batonhq/baton/internal/llm").Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.system", t.Name()),
			attribute.String("gen_ai.request.model", req.Model), attribute.Int("gen_ai.request.max_tokens", req.MaxTokens),
			attribute.Int("gen_ai.request.tools", len(req.Tools))))
	defer span.End()
	resp, err := t.Provider.Complete(ctx, req)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return resp, err
	}
	if resp != nil {
		span.SetAttributes(attribute.String("gen_ai.response.model", resp.Model),
			attribute.String("gen_ai.response.finish_reasons", resp.StopReason),
			attribute.Int("gen_ai.usage.input_tokens", resp.Usage.InputTokens),
			attribute.Int("gen_ai.usage.output_tokens", resp.Usage.OutputTokens))
	}
	return resp, nil
}
