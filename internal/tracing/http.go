package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps an outbound RoundTripper (nil: http.DefaultTransport):
// a request whose context holds a span gets a client span of its own and
// carries it to the server in the traceparent header. Without a span in
// the context (tracing off) the request goes out untouched.
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return transport{next}
}

type transport struct{ next http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := trace.SpanFromContext(req.Context())
	if !parent.SpanContext().IsValid() {
		return t.next.RoundTrip(req)
	}
	// The URL is recorded without its query and credentials: either may
	// hold a secret.
	u := *req.URL
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	ctx, span := parent.TracerProvider().Tracer(scope).Start(req.Context(), "HTTP "+req.Method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("url.full", u.String()),
			attribute.String("server.address", req.URL.Hostname())))
	defer span.End()
	// RoundTrip must not change the caller's request: headers go on a copy.
	out := req.Clone(ctx)
	W3C.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, resp.Status)
	}
	return resp, nil
}

// scope is the instrumentation scope of the spans this package makes.
const scope = "github.com/batonhq/baton/internal/tracing"

// Extract is middleware that reads an incoming W3C traceparent (and
// tracestate) into the request's context as a remote span context. The
// runner makes it the parent of a new instance's trace (start), or links
// it from a transition of an instance that has a trace already
// (complete-task and the other commands).
func Extract(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			r = r.WithContext(W3C.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		}
		next.ServeHTTP(w, r)
	})
}
