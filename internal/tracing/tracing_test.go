package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/batonhq/baton/internal/tracing/tracingtest"
)

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		env     map[string]string
		on      bool
		errPart string
	}{
		{env: nil, on: false},
		{env: map[string]string{"OTEL_SERVICE_NAME": "x"}, on: false},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, on: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, on: false},
		{env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, on: false},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, errPart: "OTEL_TRACES_EXPORTER"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, errPart: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, on: true},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift"}, errPart: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, on: true},
	} {
		on, err := Enabled(func(k string) string { return c.env[k] })
		if c.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Errorf("%v: err %v, want one naming %s", c.env, err, c.errPart)
			}
			continue
		}
		if err != nil || on != c.on {
			t.Errorf("%v: on=%v err=%v, want on=%v", c.env, on, err, c.on)
		}
	}
}

func TestSetupOffIsNil(t *testing.T) {
	tp, err := Setup(context.Background(), func(string) string { return "" }, "v1")
	if err != nil || tp != nil {
		t.Fatalf("Setup with no OTEL_* variables: %v, %v; want nil, nil", tp, err)
	}
}

func TestTraceparentRoundTrip(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	sc := ParseTraceparent(tp)
	if !sc.IsValid() || !sc.IsRemote() || !sc.IsSampled() {
		t.Fatalf("ParseTraceparent(%q) = %v", tp, sc)
	}
	if got := Traceparent(sc); got != tp {
		t.Errorf("Traceparent = %q, want %q", got, tp)
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"} {
		if sc := ParseTraceparent(bad); sc.IsValid() {
			t.Errorf("ParseTraceparent(%q) is valid: %v", bad, sc)
		}
	}
	if got := Traceparent(trace.SpanContext{}); got != "" {
		t.Errorf("Traceparent of an invalid context = %q", got)
	}
}

// TestTransport: a request made under a span is a client span of its own
// and carries it in traceparent; a request without one goes out as it
// was, with no header.
func TestTransport(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("traceparent"))
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "job")
	client := &http.Client{Transport: Transport(nil)}

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/pay?token=secret", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Header.Get("traceparent") != "" {
		t.Errorf("the caller's request was changed")
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()

	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "HTTP POST" {
		t.Fatalf("spans %v, want the HTTP call's and the job's", spans)
	}
	call := spans[0]
	if want := Traceparent(call.SpanContext()); len(got) != 2 || got[0] != want || got[1] != "" {
		t.Fatalf("traceparent headers %q, want [%q, \"\"]", got, want)
	}
	if call.Parent().SpanID() != parent.SpanContext().SpanID() || call.SpanKind() != trace.SpanKindClient {
		t.Errorf("HTTP span: parent %v kind %v", call.Parent(), call.SpanKind())
	}
	for _, a := range call.Attributes() {
		if a.Key == "url.full" && strings.Contains(a.Value.AsString(), "secret") {
			t.Errorf("url.full keeps the query: %s", a.Value.AsString())
		}
	}
	if call.Status().Code.String() != "Error" {
		t.Errorf("a 418 answer: status %v, want Error", call.Status())
	}
}

func TestExtract(t *testing.T) {
	var sc trace.SpanContext
	h := Extract(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sc = trace.SpanContextFromContext(r.Context()) }))
	req := httptest.NewRequest(http.MethodPost, "/api/runtime/start", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || !sc.IsRemote() {
		t.Errorf("extracted %v", sc)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
	if sc.IsValid() {
		t.Errorf("no header, yet extracted %v", sc)
	}
}

// TestLogHandler: a record logged with a span in its context carries the
// trace and span ids; one without does not; attributes and groups added
// to the logger survive the wrapper.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("app", "baton")
	sc := ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "traced")
	log.WithGroup("g").Info("plain", "k", 1)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || first["span_id"] != "00f067aa0ba902b7" || first["app"] != "baton" {
		t.Errorf("traced record: %s", lines[0])
	}
	if _, ok := second["trace_id"]; ok || second["g"] == nil {
		t.Errorf("untraced record: %s", lines[1])
	}
}

// Both OTLP transports deliver: the protocol the environment names picks
// the exporter, and an in-process collector of that transport receives
// the span.
func TestSetupExportsOverEitherProtocol(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		start    func(testing.TB) *tracingtest.Collector
	}{{"http/protobuf", tracingtest.New}, {"grpc", tracingtest.NewGRPC}} {
		t.Run(tc.protocol, func(t *testing.T) {
			c := tc.start(t)
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": tc.protocol,
				"OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_SERVICE_NAME": "baton-test"}
			for k, v := range env { // the exporters read their own variables
				t.Setenv(k, v)
			}
			ctx := context.Background()
			tp, err := Setup(ctx, func(k string) string { return env[k] }, "v1")
			if err != nil || tp == nil {
				t.Fatalf("Setup: %v, %v", tp, err)
			}
			_, span := tp.Tracer("test").Start(ctx, "transition")
			span.End()
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown (flushes the span): %v", err)
			}
			spans := c.Spans()
			if len(spans) != 1 || spans[0].Name != "transition" || spans[0].Service != "baton-test" {
				t.Fatalf("the %s collector received %+v", tc.protocol, spans)
			}
		})
	}
}
