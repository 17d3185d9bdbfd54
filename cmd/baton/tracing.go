package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/tracing"
)

// traces is what tracing changes in serve's wiring when the OTEL_*
// environment turns it on (docs/operations.md); the zero value is
// tracing off and changes nothing.
type traces struct {
	tp *tracing.Provider
}

// startTracing reads the OTEL_* environment. With tracing on, log records
// written with a context carry trace_id and span_id.
func startTracing(ctx context.Context, log *slog.Logger) (traces, *slog.Logger, error) {
	tp, err := tracing.Setup(ctx, os.Getenv, versionString())
	if err != nil || tp == nil {
		return traces{}, log, err
	}
	log = slog.New(tracing.LogHandler(log.Handler()))
	log.Info("tracing on: spans are exported over OTLP/HTTP", "endpoint", firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"))
	return traces{tp: tp}, log, nil
}

func (t traces) on() bool { return t.tp != nil }

// transport is the egress policy's wrapper: every outbound call sends
// traceparent and is a client span.
func (t traces) transport() func(http.RoundTripper) http.RoundTripper {
	if !t.on() {
		return nil
	}
	return tracing.Transport
}

// provider traces LLM calls (the None provider makes none).
func (t traces) provider(p llm.Provider) llm.Provider {
	if _, none := p.(llm.None); none || !t.on() {
		return p
	}
	return llm.Traced(p)
}

// llmClient is the HTTP client of the LLM SDKs (nil: their own).
func (t traces) llmClient() *http.Client {
	if !t.on() {
		return nil
	}
	return &http.Client{Transport: tracing.Transport(nil)}
}

// stop flushes the spans still queued; it waits at most 5s, so that an
// unreachable collector does not hold the shutdown.
func (t traces) stop(log *slog.Logger) {
	if !t.on() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		log.Warn("tracing: flushing spans at shutdown", "err", err)
	}
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return "http://localhost:4318 (the OTLP default)"
}
