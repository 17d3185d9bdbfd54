// Package tracingtest is an in-process OTLP trace collector for tests: it
// decodes what the real exporters send (protobuf over HTTP, POST
// /v1/traces, or the gRPC TraceService) and renders the span trees it
// received.
package tracingtest

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, with ids in hex.
type Span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Kind                      string
	Error                     bool
	Attrs                     map[string]string
	// Links are the span contexts the span links to, "traceid/spanid".
	Links   []string
	Service string
	Start   uint64
}

// Collector receives spans over OTLP/HTTP.
type Collector struct {
	URL string

	mu    sync.Mutex
	spans []Span
	posts int
}

// New starts a collector that stops with the test.
func New(t testing.TB) *Collector {
	c := &Collector{}
	srv := httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.Error(w, "want POST /v1/traces", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "want application/x-protobuf, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req collpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.receive(&req)
	out, _ := proto.Marshal(&collpb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// receive keeps the spans of one export request.
func (c *Collector) receive(req *collpb.ExportTraceServiceRequest) {
	var got []Span
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				got = append(got, convert(s, service))
			}
		}
	}
	c.mu.Lock()
	c.spans = append(c.spans, got...)
	c.posts++
	c.mu.Unlock()
}

func convert(s *tracepb.Span, service string) Span {
	sp := Span{TraceID: hex.EncodeToString(s.TraceId), SpanID: hex.EncodeToString(s.SpanId), ParentID: hex.EncodeToString(s.ParentSpanId),
		Name: s.Name, Kind: strings.TrimPrefix(s.Kind.String(), "SPAN_KIND_"), Error: s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
		Attrs: map[string]string{}, Service: service, Start: s.StartTimeUnixNano}
	for _, kv := range s.Attributes {
		v := kv.Value
		switch {
		case v.GetStringValue() != "":
			sp.Attrs[kv.Key] = v.GetStringValue()
		default:
			sp.Attrs[kv.Key] = strings.TrimSpace(fmt.Sprint(v.GetIntValue()))
		}
	}
	for _, l := range s.Links {
		sp.Links = append(sp.Links, hex.EncodeToString(l.TraceId)+"/"+hex.EncodeToString(l.SpanId))
	}
	return sp
}

// Spans returns the spans received so far.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

// Posts is how many export requests arrived.
func (c *Collector) Posts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posts
}

// Tree renders the spans of one trace as an indented tree, children in
// start order; a span whose parent was not received is a root, and its
// line says "(parent remote)" when it has one. Each line is the span's
// name, kind, and the attributes named in show that it has.
func Tree(spans []Span, traceID string, show ...string) string {
	byID := map[string]bool{}
	children := map[string][]Span{}
	var roots []Span
	for _, s := range spans {
		if s.TraceID == traceID {
			byID[s.SpanID] = true
		}
	}
	for _, s := range spans {
		if s.TraceID != traceID {
			continue
		}
		if s.ParentID != "" && byID[s.ParentID] {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(list []Span, depth int)
	walk = func(list []Span, depth int) {
		slices.SortStableFunc(list, func(a, b Span) int {
			if a.Start != b.Start {
				if a.Start < b.Start {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		})
		for _, s := range list {
			fmt.Fprintf(&b, "%s%s [%s]", strings.Repeat("  ", depth), s.Name, strings.ToLower(s.Kind))
			for _, k := range show {
				if v, ok := s.Attrs[k]; ok {
					fmt.Fprintf(&b, " %s=%s", k, v)
				}
			}
			if s.Error {
				b.WriteString(" ERROR")
			}
			if len(s.Links) > 0 {
				fmt.Fprintf(&b, " links=%d", len(s.Links))
			}
			if depth == 0 && s.ParentID != "" {
				b.WriteString(" (parent remote)")
			}
			b.WriteString("\n")
			walk(children[s.SpanID], depth+1)
		}
	}
	walk(roots, 0)
	return b.String()
}
