package llm_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/batonhq/baton/internal/llm"
)

type fakeProvider struct{ err error }

func (fakeProvider) Name() string { return "fake" }

func (f fakeProvider) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &llm.Response{Text: "yes", Model: "m-2", StopReason: llm.StopEndTurn, Usage: llm.Usage{InputTokens: 12, OutputTokens: 3}}, nil
}

// TestTraced: a call under a span is a child span with the GenAI
// attributes and the usage; a failed call is marked; without a span in
// the context nothing is recorded.
func TestTraced(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	ctx, job := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("t").Start(context.Background(), "job")
	p := llm.Traced(fakeProvider{})
	if _, err := p.Complete(ctx, llm.Request{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := llm.Traced(fakeProvider{err: errors.New("rate limited")}).Complete(ctx, llm.Request{}); err == nil {
		t.Fatal("want the provider's error")
	}
	if _, err := p.Complete(context.Background(), llm.Request{}); err != nil {
		t.Fatal(err)
	}
	job.End()
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 2 calls and the job", len(spans))
	}
	ok, failed := spans[0], spans[1]
	if ok.Name() != "chat m" || ok.Parent().SpanID() != job.SpanContext().SpanID() {
		t.Errorf("span %q parent %v", ok.Name(), ok.Parent())
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, a := range ok.Attributes() {
		attrs[a.Key] = a.Value
	}
	if attrs["gen_ai.system"].AsString() != "fake" || attrs["gen_ai.response.model"].AsString() != "m-2" ||
		attrs["gen_ai.usage.input_tokens"].AsInt64() != 12 || attrs["gen_ai.usage.output_tokens"].AsInt64() != 3 {
		t.Errorf("attributes %v", ok.Attributes())
	}
	if failed.Name() != "chat" || failed.Status().Code.String() != "Error" {
		t.Errorf("failed call: %q %v", failed.Name(), failed.Status())
	}
}
