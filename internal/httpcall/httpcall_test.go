package httpcall_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/httpcall"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

type request struct {
	method, path, query, key, contentType, custom string
	body                                          map[string]any
}

// peer is a fake HTTP service that records requests and answers with the
// given status and body.
func peer(t *testing.T, status int, answer string) (*httptest.Server, *[]request) {
	t.Helper()
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		rq := request{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, key: r.Header.Get("Idempotency-Key"),
			contentType: r.Header.Get("Content-Type"), custom: r.Header.Get("X-Tenant")}
		if len(data) > 0 {
			if err := json.Unmarshal(data, &rq.body); err != nil {
				t.Errorf("request body %q: %v", data, err)
			}
		}
		got = append(got, rq)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func job(call *model.HTTPCall, vars map[string]any) *runner.Job {
	return &runner.Job{
		JobRow:    store.JobRow{ID: "inst-1-4", InstanceID: "inst-1", NodeID: "pay", Kind: "service"},
		Node:      &model.Node{ID: "pay", Type: model.ServiceTask, HTTP: call},
		Variables: vars,
	}
}

func TestPostsVariablesAndMergesAnswer(t *testing.T) {
	srv, got := peer(t, http.StatusOK, `{"payoutId":"p-9","ok":true}`)
	h := httpcall.New(srv.Client())
	out, err := h.Work(context.Background(), job(&model.HTTPCall{URL: srv.URL + "/payouts/{{id}}"}, map[string]any{"id": 7, "amount": 20000.0}))
	if err != nil {
		t.Fatalf("Work: %v", err)
	}
	if out["payoutId"] != "p-9" || out["ok"] != true {
		t.Errorf("output = %v, want the answer's object", out)
	}
	if len(*got) != 1 {
		t.Fatalf("requests = %d, want 1", len(*got))
	}
	r := (*got)[0]
	if r.method != http.MethodPost || r.path != "/payouts/7" || r.key != "baton-inst-1-4" || r.contentType != "application/json" {
		t.Errorf("request = %+v", r)
	}
	if r.body["amount"] != 20000.0 || r.body["id"] != 7.0 {
		t.Errorf("request body = %v, want the variables", r.body)
	}
}

func TestBodyHeadersQueryAndEnv(t *testing.T) {
	srv, got := peer(t, http.StatusCreated, ``)
	h := &httpcall.Handler{Client: srv.Client(), Env: map[string]string{"BASE": srv.URL}}
	call := &model.HTTPCall{
		Method:  "put",
		URL:     "{{env.BASE}}/orders",
		Query:   map[string]string{"customer": "{{customer.id}}"},
		Headers: map[string]string{"X-Tenant": "t-{{tenant}}"},
		Body:    json.RawMessage(`{"total": "=amount * 2", "note": "for {{customer.id}}", "fixed": [1, "a"]}`),
	}
	out, err := h.Work(context.Background(), job(call, map[string]any{"amount": 21.0, "tenant": "eu", "customer": map[string]any{"id": "c1"}}))
	if err != nil {
		t.Fatalf("Work: %v", err)
	}
	if out != nil {
		t.Errorf("output of an empty answer = %v, want nil", out)
	}
	r := (*got)[0]
	if r.method != http.MethodPut || r.path != "/orders" || r.query != "customer=c1" || r.custom != "t-eu" {
		t.Errorf("request = %+v", r)
	}
	if r.body["total"] != 42.0 || r.body["note"] != "for c1" || len(r.body["fixed"].([]any)) != 2 {
		t.Errorf("body = %v", r.body)
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		status    int
		permanent bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusNotFound, true},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, _ := peer(t, tt.status, `{"error":"nope"}`)
			_, err := httpcall.New(srv.Client()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL}, nil))
			if err == nil {
				t.Fatal("Work succeeded, want an error")
			}
			var perm *runner.PermanentError
			if errors.As(err, &perm) != tt.permanent {
				t.Errorf("error %v: permanent = %v, want %v", err, !tt.permanent, tt.permanent)
			}
			if !strings.Contains(err.Error(), "nope") {
				t.Errorf("error %q does not quote the answer", err)
			}
		})
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	srv, _ := peer(t, http.StatusOK, `{}`)
	url := srv.URL
	srv.Close()
	_, err := httpcall.New(nil).Work(context.Background(), job(&model.HTTPCall{URL: url}, nil))
	var perm *runner.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Errorf("error = %v, want a retryable error", err)
	}
}

func TestBadTemplatesArePermanent(t *testing.T) {
	for _, call := range []*model.HTTPCall{
		{URL: "{{missing}}/x"},
		{URL: "{{unclosed"},
		{URL: "not a url"},
		{URL: "ftp://example.com/x"},
		{URL: "http://example.com", Body: json.RawMessage(`{"a": "=nope + 1"}`)},
	} {
		_, err := httpcall.New(nil).Work(context.Background(), job(call, map[string]any{}))
		var perm *runner.PermanentError
		if !errors.As(err, &perm) {
			t.Errorf("%+v: error = %v, want permanent", call, err)
		}
	}
}

func TestCancelledContextStaysRecognisable(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := httpcall.New(srv.Client()).Work(ctx, job(&model.HTTPCall{URL: srv.URL}, nil))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled (the runner releases the job)", err)
	}
}
