package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/tracing/tracingtest"
)

// headerTransport adds a traceparent to every request, as a traced
// caller of the API would.
type headerTransport struct{ traceparent *string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if *h.traceparent != "" {
		r = r.Clone(r.Context())
		r.Header.Set("traceparent", *h.traceparent)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestTracingLoanApproval: with OTEL_EXPORTER_OTLP_ENDPOINT set, baton
// serve exports the loan approval's trace through the real OTLP/HTTP
// exporter to an in-process collector. The caller's traceparent on start
// is the root's parent, the whole instance is one trace (the review task
// completed by another traced caller joins it, linking that caller), and
// each job holds its HTTP call or notification and the transition that
// commits its result.
func TestTracingLoanApproval(t *testing.T) {
	coll := tracingtest.New(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", coll.URL)
	t.Setenv("OTEL_SERVICE_NAME", "baton-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	srv := startServe(t, "--deploy", examples)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tp := "00-" + callerTrace + "-" + callerSpan + "-01"
	c := baton.NewClient(srv.url, baton.WithToken("dev-admin"), baton.WithHTTPClient(&http.Client{Transport: headerTransport{&tp}}))
	var vars map[string]any
	data, err := os.ReadFile(filepath.Join(examples, "vars", "loan-approval.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &vars); err != nil {
		t.Fatal(err)
	}
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "loan-approval", Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	// The manager completes the review from another traced system.
	const reviewerTrace, reviewerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	tp = "00-" + reviewerTrace + "-" + reviewerSpan + "-01"
	driveToEnd(ctx, t, c, inst.InstanceID)
	srv.stop(t) // flushes the spans still queued

	spans := coll.Spans()
	if len(spans) == 0 {
		t.Fatalf("the collector received no span (%d posts)", coll.Posts())
	}
	for _, s := range spans {
		if s.Service != "baton-test" {
			t.Errorf("span %q: service.name %q, want OTEL_SERVICE_NAME's baton-test", s.Name, s.Service)
		}
	}
	tree := tracingtest.Tree(spans, callerTrace, "baton.node.id", "baton.command", "http.response.status_code")
	t.Logf("trace %s as the collector received it:\n%s", callerTrace, tree)
	want := `instance loan-approval [internal] (parent remote)
  transition completeTask [internal] baton.command=completeTask links=1
  job service payout [consumer] baton.node.id=payout
    HTTP POST [client] http.response.status_code=201
    transition completeJob [internal] baton.command=completeJob
  job send tell [consumer] baton.node.id=tell
    notify email [producer]
    transition completeJob [internal] baton.command=completeJob
`
	if tree != want {
		t.Errorf("span tree:\n%s\nwant:\n%s", tree, want)
	}
	for _, s := range spans {
		switch {
		case s.Name == "instance loan-approval":
			if s.ParentID != callerSpan {
				t.Errorf("root's parent is %s, want the caller's span %s", s.ParentID, callerSpan)
			}
			if s.Attrs["baton.instance.id"] != inst.InstanceID {
				t.Errorf("root: baton.instance.id %q, want %q", s.Attrs["baton.instance.id"], inst.InstanceID)
			}
		case s.Name == "transition completeTask":
			if len(s.Links) != 1 || s.Links[0] != reviewerTrace+"/"+reviewerSpan {
				t.Errorf("complete-task transition links %v, want the reviewer's span", s.Links)
			}
		case strings.HasPrefix(s.Name, "HTTP "):
			if !strings.HasSuffix(s.Attrs["url.full"], "/payouts") {
				t.Errorf("HTTP span url.full %q", s.Attrs["url.full"])
			}
		}
		if s.TraceID == reviewerTrace {
			t.Errorf("span %q is in the reviewer's trace; the instance's transitions belong to the instance's", s.Name)
		}
	}
}
