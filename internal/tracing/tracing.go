// Package tracing turns on OpenTelemetry tracing from the standard OTEL_*
// environment variables and holds the few helpers the rest of Baton
// shares: W3C trace context in and out of HTTP headers and of the
// instance state, a client span around outbound HTTP calls, and a
// slog.Handler that stamps records with the trace and span ids.
//
// Tracing is off unless the environment asks for it: no exporter, no
// batch goroutine, and the runner keeps its no-op tracer, so an untraced
// server pays nothing for it.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of Baton's spans unless OTEL_SERVICE_NAME
// or OTEL_RESOURCE_ATTRIBUTES names another.
const ServiceName = "baton"

// Enabled reports whether the environment turns tracing on, following the
// OpenTelemetry SDK specification: OTEL_SDK_DISABLED=true turns it off;
// OTEL_TRACES_EXPORTER=otlp turns it on, =none off; unset, an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns
// it on. Any other exporter or protocol is an error naming the variable.
func Enabled(getenv func(string) string) (bool, error) {
	on, _, err := settings(getenv)
	return on, err
}

// The OTLP transports Baton exports over (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	protocolHTTP = "http/protobuf" // the specification's default; a Collector listens on 4318
	protocolGRPC = "grpc"          // a Collector listens on 4317
)

// settings is Enabled with the protocol the environment chooses: the
// traces-specific variable wins over the general one.
func settings(getenv func(string) string) (on bool, protocol string, err error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, "", nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "":
		on = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	case "none":
		return false, "", nil
	case "otlp":
		on = true
	default:
		return false, "", fmt.Errorf("OTEL_TRACES_EXPORTER=%q: Baton exports traces with otlp (or none)", exp)
	}
	if !on {
		return false, "", nil
	}
	protocol = protocolHTTP
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch p := strings.TrimSpace(getenv(name)); p {
		case "":
			continue
		case protocolHTTP, protocolGRPC:
			return true, p, nil
		default:
			return false, "", fmt.Errorf("%s=%q: Baton sends OTLP over http/protobuf (a Collector's port 4318) or grpc (port 4317); http/json is not offered", name, p)
		}
	}
	return true, protocol, nil
}

// Provider is a configured tracer provider; Shutdown flushes the spans
// still queued and stops the exporter.
type Provider struct {
	*sdktrace.TracerProvider
}

// Setup builds the tracer provider the environment describes, or returns
// nil (and no error) when tracing is off. The exporter reads its own
// variables (endpoint, headers, timeout, compression, certificates), the
// SDK its sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) and batch
// settings (OTEL_BSP_*), and the resource OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES. version becomes service.version.
func Setup(ctx context.Context, getenv func(string) string, version string) (*Provider, error) {
	on, protocol, err := settings(getenv)
	if err != nil || !on {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	if protocol == protocolGRPC {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return newProvider(ctx, sdktrace.WithBatcher(exp), version)
}

// newProvider is the provider with Baton's resource around one span
// processor option (the batching exporter, or a test's recorder).
func newProvider(ctx context.Context, proc sdktrace.TracerProviderOption, version string) (*Provider, error) {
	attrs := []attribute.KeyValue{attribute.String("service.name", ServiceName)}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	// Later detectors win: the environment overrides Baton's defaults.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return &Provider{sdktrace.NewTracerProvider(proc, sdktrace.WithResource(res))}, nil
}

// W3C is the propagator Baton speaks: traceparent and tracestate.
var W3C propagation.TextMapPropagator = propagation.TraceContext{}

// Traceparent encodes a span context as a W3C traceparent header value
// ("" for an invalid one).
func Traceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	W3C.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c.Get("traceparent")
}

// ParseTraceparent decodes a W3C traceparent header value into a remote
// span context; a malformed value gives an invalid one (W3C says a
// receiver ignores it).
func ParseTraceparent(s string) trace.SpanContext {
	if s == "" {
		return trace.SpanContext{}
	}
	ctx := W3C.Extract(context.Background(), propagation.MapCarrier{"traceparent": s})
	return trace.SpanContextFromContext(ctx)
}
