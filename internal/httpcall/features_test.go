package httpcall_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/testkit"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/httpcall"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
)

// loopback is a client as the server builds it (egress guard, redirect
// checks) that may reach the test servers on 127.0.0.1.
func loopback() *http.Client { return egress.Policy{AllowLoopback: true}.Client(0) }

// server answers with fn and counts requests.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func serve(t *testing.T, fn func(w http.ResponseWriter, r *http.Request, n int)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.body = append(s.body, string(data))
		n := len(s.reqs)
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(data))
		fn(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *server) req(i int) (*http.Request, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[i], s.body[i]
}

func answer(status int, contentType, body string, headers ...string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Add(headers[i], headers[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func isPermanent(err error) bool {
	var perm *runner.PermanentError
	return errors.As(err, &perm)
}

func bpmnCode(err error) string {
	var be *runner.BPMNError
	if errors.As(err, &be) {
		return be.Code
	}
	return ""
}

// builtNode returns the node "pay" of a built workflow with the given
// http block, so that the handler uses the expressions Build compiled.
func builtNode(t *testing.T, httpJSON string) *model.Node {
	t.Helper()
	src := `{"id": "w", "nodes": [{"id": "s", "type": "startEvent"}, {"id": "pay", "type": "serviceTask", "http": ` + httpJSON + `},
		{"id": "e", "type": "endEvent"}], "edges": [{"id": "f1", "source": "s", "target": "pay"}, {"id": "f2", "source": "pay", "target": "e"}]}`
	d, err := model.ParseJSON("test.json", []byte(src))
	if err != nil {
		t.Fatalf("ParseJSON: %v", err)
	}
	return d.Node("pay")
}

func TestResponseMapping(t *testing.T) {
	srv := serve(t, answer(http.StatusCreated, "application/json", `{"payout": {"id": "p-9"}, "fee": 1.5, "extra": "dropped"}`,
		"X-Request-Id", "r-1", "X-Request-Id", "r-2"))
	mappings := `[
		{"source": "response.status", "target": "httpStatus"},
		{"source": "response.headers[\"x-request-id\"]", "target": "requestId"},
		{"source": "response.headers['content-type']", "target": "contentType"},
		{"source": "=response.body.payout.id", "target": "payoutId"},
		{"source": "response.body.fee + amount", "target": "total"}]`
	want := map[string]any{"httpStatus": 201, "requestId": "r-1", "contentType": "application/json", "payoutId": "p-9", "total": 21.5}

	var ms []model.Mapping
	if err := json.Unmarshal([]byte(mappings), &ms); err != nil {
		t.Fatal(err)
	}
	built := builtNode(t, `{"url": "`+srv.URL+`/payouts", "response": `+mappings+`}`)
	if built.Expr("response:0") == nil {
		t.Fatal("Build did not compile the response mappings")
	}
	for name, node := range map[string]*model.Node{
		"built":   built,
		"unbuilt": {ID: "pay", Type: model.ServiceTask, HTTP: &model.HTTPCall{URL: srv.URL + "/payouts", Response: ms}},
	} {
		t.Run(name, func(t *testing.T) {
			j := job(nil, map[string]any{"amount": 20.0, "customer": "c1"})
			j.Node = node
			out, err := httpcall.New(loopback()).Work(context.Background(), j)
			if err != nil {
				t.Fatalf("Work: %v", err)
			}
			if !reflect.DeepEqual(out, want) {
				t.Errorf("output = %#v, want exactly %#v", out, want)
			}
		})
	}
}

func TestResponseMappingOfTextAndEmptyBodies(t *testing.T) {
	text := serve(t, answer(http.StatusOK, "text/plain", "accepted\n"))
	empty := serve(t, answer(http.StatusNoContent, "", ""))
	call := func(u string) *model.HTTPCall {
		return &model.HTTPCall{Method: "GET", URL: u, Response: []model.Mapping{
			{Source: "response.body", Target: "body"},
			{Source: "response.body == nil", Target: "none"},
			{Source: "response.status", Target: "status"},
		}}
	}
	out, err := httpcall.New(loopback()).Work(context.Background(), job(call(text.URL), nil))
	if err != nil {
		t.Fatal(err)
	}
	if out["body"] != "accepted\n" || out["none"] != false || out["status"] != 200 {
		t.Errorf("text answer: output = %#v", out)
	}
	out, err = httpcall.New(loopback()).Work(context.Background(), job(call(empty.URL), nil))
	if err != nil {
		t.Fatal(err)
	}
	if out["body"] != nil || out["none"] != true || out["status"] != 204 {
		t.Errorf("empty answer: output = %#v", out)
	}
}

func TestResponseMappingErrorIsPermanent(t *testing.T) {
	srv := serve(t, answer(http.StatusOK, "application/json", `{}`))
	call := &model.HTTPCall{URL: srv.URL, Response: []model.Mapping{{Source: "response.body.a + undefinedVar", Target: "x"}}}
	_, err := httpcall.New(loopback()).Work(context.Background(), job(call, nil))
	if !isPermanent(err) || !strings.Contains(err.Error(), "http.response[0]") {
		t.Errorf("error = %v, want a permanent error naming the mapping", err)
	}
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		errs    map[string]string
		retryOn []int
		bpmn    string // expected BPMN error code
		retry   bool   // else permanent (when bpmn is "")
	}{
		// Defaults: 408, 429 and 5xx retried, other non-2xx permanent.
		{name: "default 400", status: 400},
		{name: "default 401", status: 401},
		{name: "default 404", status: 404},
		{name: "default 409", status: 409},
		{name: "default 422", status: 422},
		{name: "default 304", status: 304},
		{name: "default 408", status: 408, retry: true},
		{name: "default 429", status: 429, retry: true},
		{name: "default 500", status: 500, retry: true},
		{name: "default 502", status: 502, retry: true},
		{name: "default 503", status: 503, retry: true},
		{name: "default 504", status: 504, retry: true},

		// Errors: exact beats class.
		{name: "exact", status: 404, errs: map[string]string{"404": "NOT_FOUND", "4xx": "REJECTED"}, bpmn: "NOT_FOUND"},
		{name: "class", status: 409, errs: map[string]string{"404": "NOT_FOUND", "4xx": "REJECTED"}, bpmn: "REJECTED"},
		{name: "class beats default retry", status: 503, errs: map[string]string{"5xx": "UPSTREAM_DOWN"}, bpmn: "UPSTREAM_DOWN"},
		{name: "unmapped class keeps default", status: 503, errs: map[string]string{"4xx": "REJECTED"}, retry: true},
		{name: "unmapped status keeps default", status: 400, errs: map[string]string{"404": "NOT_FOUND"}},

		// RetryOn replaces the default list.
		{name: "retryOn listed", status: 409, retryOn: []int{409}, retry: true},
		{name: "retryOn drops 5xx", status: 500, retryOn: []int{409}},
		{name: "retryOn drops 429", status: 429, retryOn: []int{409}},
		{name: "retryOn beats class", status: 503, retryOn: []int{503}, errs: map[string]string{"5xx": "DOWN"}, retry: true},
		{name: "class beats permanent", status: 500, retryOn: []int{503}, errs: map[string]string{"5xx": "DOWN"}, bpmn: "DOWN"},
		{name: "exact beats retryOn", status: 404, retryOn: []int{404}, errs: map[string]string{"404": "NOT_FOUND"}, bpmn: "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, answer(tt.status, "application/json", `{"error": "nope"}`))
			_, err := httpcall.New(loopback()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL + "/x", Errors: tt.errs, RetryOn: tt.retryOn}, nil))
			if err == nil {
				t.Fatal("Work succeeded, want an error")
			}
			switch {
			case tt.bpmn != "":
				var be *runner.BPMNError
				if !errors.As(err, &be) || be.Code != tt.bpmn || isPermanent(err) {
					t.Fatalf("error = %#v, want BPMN error %s", err, tt.bpmn)
				}
				if !strings.Contains(be.Message, fmt.Sprint(tt.status)) || !strings.Contains(be.Message, "nope") {
					t.Errorf("BPMN error message %q does not give the status and the answer", be.Message)
				}
			case tt.retry:
				if isPermanent(err) || bpmnCode(err) != "" {
					t.Errorf("error = %v, want a retryable error", err)
				}
			default:
				if !isPermanent(err) || bpmnCode(err) != "" {
					t.Errorf("error = %v, want a permanent error", err)
				}
			}
			if tt.bpmn == "" && !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("error %q does not give the status", err)
			}
		})
	}
}

func TestRetryAfterIsReported(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   bool
	}{{429, true}, {503, true}, {500, false}} {
		srv := serve(t, answer(tt.status, "text/plain", "slow down", "Retry-After", "120"))
		_, err := httpcall.New(loopback()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL}, nil))
		if err == nil || isPermanent(err) {
			t.Fatalf("%d: error = %v, want retryable", tt.status, err)
		}
		if got := strings.Contains(err.Error(), "Retry-After: 120"); got != tt.want {
			t.Errorf("%d: error %q reports Retry-After = %v, want %v", tt.status, err, got, tt.want)
		}
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	start := time.Now()
	_, err := httpcall.New(loopback()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL + "/slow", Timeout: "PT0.1S"}, nil))
	if err == nil || isPermanent(err) || errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want a retryable timeout (not Canceled, which would release the job)", err)
	}
	if !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("error %q does not say the call timed out", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Work took %v with a 100ms timeout", d)
	}

	_, err = httpcall.New(loopback()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL, Timeout: "soon"}, nil))
	if !isPermanent(err) || srv.count() != 1 {
		t.Errorf("bad timeout: error = %v, requests = %d; want a permanent error before any request", err, srv.count())
	}
}

func TestConnectionRefusedIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for name, client := range map[string]*http.Client{"egress": loopback(), "default": nil} {
		_, err := httpcall.New(client).Work(context.Background(), job(&model.HTTPCall{URL: "http://" + addr + "/x"}, nil))
		if err == nil || isPermanent(err) || errors.Is(err, context.Canceled) {
			t.Errorf("%s client: error = %v, want a retryable error", name, err)
		}
	}
}

func TestEgressRefusalIsPermanent(t *testing.T) {
	srv := serve(t, answer(200, "application/json", `{}`))
	// The default policy refuses loopback addresses.
	_, err := httpcall.New(egress.Policy{}.Client(0)).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL}, nil))
	var denied *egress.DeniedError
	if !isPermanent(err) || !errors.As(err, &denied) || srv.count() != 0 {
		t.Errorf("error = %v, requests = %d; want a permanent egress refusal and no request", err, srv.count())
	}
}

const (
	token  = "tok-3f9a2c71d4e8b6a0"
	apiKey = `k<ey "with" space`
)

func secretHandler(client *http.Client) *httpcall.Handler {
	return &httpcall.Handler{Client: client, Secrets: map[string]string{"TOKEN": token, "API_KEY": apiKey, "UNUSED": "never-sent-7781"}}
}

// leaks reports whether s holds a secret, as written or escaped (in JSON,
// once or twice, or in a URL).
func leaks(s string) bool {
	s = strings.ReplaceAll(s, `\`, "")
	for _, v := range []string{token, apiKey, "never-sent-7781", `ku003cey "with" space`, `k%3Cey`, `k+%3Cey`} {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

func TestSecretsInHeaderAndBody(t *testing.T) {
	// The peer echoes what it got, secrets included.
	srv := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		data, _ := json.Marshal(map[string]any{"auth": r.Header.Get("Authorization"), "path": r.URL.Path})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		_, _ = w.Write(data)
	})
	call := &model.HTTPCall{
		URL:     srv.URL + "/pay/{{id}}",
		Headers: map[string]string{"Authorization": "Bearer {{secrets.TOKEN}}"},
		Body:    json.RawMessage(`{"key": "=secrets[\"API_KEY\"]", "note": "for {{id}}", "all": "=secrets"}`),
	}
	// A variable called secrets cannot stand in for the configured ones.
	vars := map[string]any{"id": "7", "secrets": map[string]any{"TOKEN": "forged"}}
	out, err := secretHandler(loopback()).Work(context.Background(), job(call, vars))
	if err != nil {
		t.Fatalf("Work: %v", err)
	}
	r, body := srv.req(0)
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q, want the secret", got)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(body), &sent); err != nil {
		t.Fatal(err)
	}
	if sent["key"] != apiKey || sent["note"] != "for 7" {
		t.Errorf("body = %v", sent)
	}
	// Only the secrets the call names are visible to it.
	if all, _ := sent["all"].(map[string]any); len(all) != 2 || all["UNUSED"] != nil {
		t.Errorf("secrets seen by the body = %v, want only TOKEN and API_KEY", sent["all"])
	}
	if out["auth"] != "Bearer "+httpcall.Redacted {
		t.Errorf("output auth = %v, want the echoed secret redacted", out["auth"])
	}
	data, _ := json.Marshal(out)
	if leaks(string(data)) {
		t.Errorf("output leaks a secret: %s", data)
	}

	// With response mappings: the headers and body are redacted too.
	call.Response = []model.Mapping{{Source: "response.headers['x-echo']", Target: "h"}, {Source: "response.body", Target: "b"}}
	out, err = secretHandler(loopback()).Work(context.Background(), job(call, vars))
	if err != nil {
		t.Fatalf("Work: %v", err)
	}
	data, _ = json.Marshal(out)
	if leaks(string(data)) || out["h"] != "Bearer "+httpcall.Redacted {
		t.Errorf("mapped output leaks a secret: %s", data)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	echo := func(status int) func(http.ResponseWriter, *http.Request, int) {
		return func(w http.ResponseWriter, r *http.Request, _ int) {
			data, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			// Go's JSON escapes < as \u003c and " as \": the escaped forms
			// are redacted as well.
			out, _ := json.Marshal(map[string]any{"error": "bad credentials " + r.Header.Get("Authorization"), "got": string(data), "path": r.URL.EscapedPath()})
			_, _ = w.Write(out)
		}
	}
	call := func(u string) *model.HTTPCall {
		return &model.HTTPCall{
			URL:     u + "/keys/{{secrets.API_KEY}}",
			Headers: map[string]string{"Authorization": "Bearer {{secrets.TOKEN}}"},
			Body:    json.RawMessage(`{"key": "=secrets.API_KEY"}`),
			Errors:  map[string]string{"402": "DECLINED"},
		}
	}
	for _, status := range []int{400, 402, 500} {
		srv := serve(t, echo(status))
		_, err := secretHandler(loopback()).Work(context.Background(), job(call(srv.URL), nil))
		if err == nil {
			t.Fatalf("%d: Work succeeded", status)
		}
		if leaks(err.Error()) || !strings.Contains(err.Error(), httpcall.Redacted) {
			t.Errorf("%d: error leaks a secret or is not redacted: %s", status, err)
		}
		var be *runner.BPMNError
		if errors.As(err, &be) && (leaks(be.Message) || be.Code != "DECLINED") {
			t.Errorf("%d: BPMN error %q leaks a secret", status, be.Message)
		}
	}

	// A network error quotes the URL, whose path holds a secret.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = secretHandler(loopback()).Work(context.Background(), job(call("http://"+addr), nil))
	if err == nil || isPermanent(err) || leaks(err.Error()) {
		t.Errorf("network error = %v, want retryable and redacted", err)
	}

	// A secret in a template error.
	bad := &model.HTTPCall{URL: "http://" + addr, Body: json.RawMessage(`{"x": "=secrets.TOKEN + 1"}`)}
	_, err = secretHandler(loopback()).Work(context.Background(), job(bad, nil))
	if !isPermanent(err) || leaks(err.Error()) {
		t.Errorf("expression error = %v, want permanent and redacted", err)
	}
}

func TestUnknownSecretIsPermanent(t *testing.T) {
	srv := serve(t, answer(200, "application/json", `{}`))
	for _, call := range []*model.HTTPCall{
		{URL: srv.URL, Headers: map[string]string{"Authorization": "Bearer {{secrets.MISSING_TOKEN}}"}},
		{URL: srv.URL, Body: json.RawMessage(`{"k": "=secrets['MISSING_TOKEN']"}`)},
		{URL: srv.URL + "/{{secrets?.MISSING_TOKEN}}"},
	} {
		_, err := secretHandler(loopback()).Work(context.Background(), job(call, nil))
		if !isPermanent(err) || !strings.Contains(err.Error(), "MISSING_TOKEN") || leaks(err.Error()) {
			t.Errorf("%+v: error = %v, want permanent, naming the secret", call, err)
		}
	}
	// Without any secrets configured.
	_, err := httpcall.New(loopback()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL, Query: map[string]string{"k": "{{secrets.KEY}}"}}, nil))
	if !isPermanent(err) || !strings.Contains(err.Error(), `"KEY"`) {
		t.Errorf("no secrets configured: error = %v", err)
	}
	// A response mapping may not read secrets (they would become variables).
	_, err = secretHandler(loopback()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL,
		Response: []model.Mapping{{Source: "secrets.TOKEN", Target: "t"}}}, nil))
	if !isPermanent(err) || leaks(err.Error()) {
		t.Errorf("response mapping reading a secret: error = %v, want permanent", err)
	}
	if n := srv.count(); n != 0 {
		t.Errorf("%d requests were sent; a call with a bad secret reference must send none", n)
	}
	// A field called secrets of some variable is not a secret reference.
	_, err = httpcall.New(loopback()).Work(context.Background(), job(&model.HTTPCall{URL: srv.URL + "/{{vault.secrets.KEY}}"},
		map[string]any{"vault": map[string]any{"secrets": map[string]any{"KEY": "k"}}}))
	if err != nil {
		t.Errorf("vault.secrets.KEY: %v", err)
	}
}

func TestRedirectsFollowTheClient(t *testing.T) {
	final := serve(t, answer(200, "application/json", `{"done": true}`))
	start := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		to := final.URL + "/final"
		switch r.URL.Path {
		case "/same":
			to = "/final-here"
		case "/ftp":
			to = "ftp://example.com/x"
		case "/denied":
			to = strings.Replace(final.URL, "127.0.0.1", "localhost", 1) + "/final"
		}
		if r.URL.Path == "/final-here" {
			answer(200, "application/json", `{"here": true}`)(w, r, 0)
			return
		}
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
	})

	// Same host: followed, with the headers and the idempotency key.
	call := &model.HTTPCall{URL: start.URL + "/same", Headers: map[string]string{"X-Api-Key": "{{secrets.TOKEN}}"}}
	out, err := secretHandler(loopback()).Work(context.Background(), job(call, map[string]any{"a": 1.0}))
	if err != nil || out["here"] != true {
		t.Fatalf("same-host redirect: out = %v, err = %v", out, err)
	}
	r, body := start.req(1)
	if r.Header.Get("Idempotency-Key") != "baton-inst-1-4" || r.Header.Get("X-Api-Key") != token || !strings.Contains(body, `"a":1`) {
		t.Errorf("redirected request: headers %v, body %q", r.Header, body)
	}

	// Another host: followed, but a header holding a secret stays behind.
	call = &model.HTTPCall{URL: start.URL + "/other", Headers: map[string]string{"X-Api-Key": "{{secrets.TOKEN}}", "X-Tenant": "t1"}}
	out, err = secretHandler(loopback()).Work(context.Background(), job(call, nil))
	if err != nil || out["done"] != true {
		t.Fatalf("cross-host redirect: out = %v, err = %v", out, err)
	}
	r, _ = final.req(0)
	if r.Header.Get("X-Api-Key") != "" || r.Header.Get("X-Tenant") != "t1" || r.Header.Get("Idempotency-Key") != "baton-inst-1-4" {
		t.Errorf("request after a cross-host redirect: headers %v", r.Header)
	}

	// Another host with a body holding a secret: refused.
	call = &model.HTTPCall{URL: start.URL + "/other", Body: json.RawMessage(`{"k": "=secrets.TOKEN"}`)}
	_, err = secretHandler(loopback()).Work(context.Background(), job(call, nil))
	if !isPermanent(err) || leaks(err.Error()) || final.count() != 1 {
		t.Errorf("secret body to another host: error = %v, requests there = %d", err, final.count())
	}

	// The client's policy decides what may be followed.
	for _, path := range []string{"/ftp", "/denied"} {
		client := egress.Policy{AllowLoopback: true, AllowHosts: []string{"127.0.0.1"}}.Client(0)
		_, err = httpcall.New(client).Work(context.Background(), job(&model.HTTPCall{URL: start.URL + path}, nil))
		var denied *egress.DeniedError
		if !isPermanent(err) || !errors.As(err, &denied) {
			t.Errorf("%s: error = %v, want a permanent egress refusal", path, err)
		}
	}
	if final.count() != 1 {
		t.Errorf("refused redirects reached the target: %d requests", final.count())
	}
}

func TestIdempotencyKeyOnEveryAttempt(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		answer(200, "application/json", `{"ok": true}`)(w, r, n)
	})
	// A header of the same name cannot replace the job's key.
	call := &model.HTTPCall{URL: srv.URL, Headers: map[string]string{"Idempotency-Key": "mine"}}
	h := httpcall.New(loopback())
	if _, err := h.Work(context.Background(), job(call, nil)); err == nil || isPermanent(err) {
		t.Fatalf("first attempt: error = %v, want retryable", err)
	}
	if out, err := h.Work(context.Background(), job(call, nil)); err != nil || out["ok"] != true {
		t.Fatalf("second attempt: %v, %v", out, err)
	}
	for i := 0; i < 2; i++ {
		if r, _ := srv.req(i); r.Header.Get("Idempotency-Key") != "baton-inst-1-4" {
			t.Errorf("attempt %d: Idempotency-Key = %q", i+1, r.Header.Get("Idempotency-Key"))
		}
	}
}

func TestSecretsFromEnviron(t *testing.T) {
	got := httpcall.SecretsFromEnviron([]string{"BATON_SECRET_PAYMENTS_TOKEN=a=b", "BATON_SECRET_=x", "BATON_SECRET_EMPTY=", "PATH=/bin", "baton_secret_lower=y"})
	want := map[string]string{"PAYMENTS_TOKEN": "a=b", "EMPTY": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SecretsFromEnviron = %v, want %v", got, want)
	}
}

// TestErrorBoundaryCatchesMappedStatus runs the handler in a runner: a
// mapped status ends the task with a BPMN error that the task's error
// boundary event catches; a 2xx answer is mapped into the variables; the
// secret is in neither the variables nor the history.
func TestErrorBoundaryCatchesMappedStatus(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if in["amount"].(float64) > 100 {
			w.WriteHeader(http.StatusPaymentRequired)
			_, _ = io.WriteString(w, `{"reason": "insufficient funds for `+token+`"}`)
			return
		}
		_, _ = io.WriteString(w, `{"id": "p-1", "echo": "`+token+`"}`)
	})
	src := `{"id": "payout", "nodes": [
	 {"id": "start", "type": "startEvent"},
	 {"id": "pay", "type": "serviceTask", "retry": {"max": 2, "backoff": "PT0.01S"},
	  "http": {"url": "{{env.PAY_URL}}/payouts", "headers": {"Authorization": "Bearer {{secrets.TOKEN}}"},
	           "body": {"amount": "=amount"}, "timeout": "PT5S",
	           "response": [{"source": "response.body.id", "target": "payoutId"}, {"source": "response.body.echo", "target": "echo"}],
	           "errors": {"402": "DECLINED"}}},
	 {"id": "declined", "type": "boundaryEvent", "attachedTo": "pay", "event": {"kind": "error", "errorCode": "DECLINED"}},
	 {"id": "paid", "type": "endEvent"},
	 {"id": "rejected", "type": "endEvent"}],
	 "edges": [{"id": "f1", "source": "start", "target": "pay"}, {"id": "f2", "source": "pay", "target": "paid"},
	           {"id": "f3", "source": "declined", "target": "rejected"}]}`

	ctx := context.Background()
	r := testkit.Runner(t, runner.Config{LeaseFor: 5 * time.Second}, func(r *runner.Runner) {
		r.Register("service", &httpcall.Handler{Client: loopback(), Env: map[string]string{"PAY_URL": srv.URL}, Secrets: map[string]string{"TOKEN": token}})
	})
	if _, _, err := r.Deploy(ctx, "payout.json", []byte(src), "test"); err != nil {
		t.Fatal(err)
	}

	run := func(amount float64) (*engine.State, string) {
		t.Helper()
		s, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "payout", Variables: map[string]any{"amount": amount}})
		if err != nil {
			t.Fatal(err)
		}
		s = testkit.WaitState(t, r, s.InstanceID, func(s *engine.State) bool { return s.Status == engine.StatusCompleted })
		hist, err := r.History(ctx, s.InstanceID)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, h := range hist {
			fmt.Fprintf(&b, "%s %s %s %s\n", h.NodeID, h.NodeType, h.Action, h.Result)
		}
		return s, b.String()
	}

	s, hist := run(50)
	if s.Variables["payoutId"] != "p-1" || s.Variables["echo"] != httpcall.Redacted {
		t.Errorf("variables after a 200 = %v", s.Variables)
	}
	if !strings.Contains(hist, "paid") || strings.Contains(hist, "rejected") || leaks(hist) {
		t.Errorf("history after a 200:\n%s", hist)
	}

	s, hist = run(500)
	if _, ok := s.Variables["payoutId"]; ok {
		t.Errorf("variables after a 402 = %v", s.Variables)
	}
	if !strings.Contains(hist, "rejected") || leaks(hist) {
		t.Errorf("history after a 402 (want the boundary path, no secret):\n%s", hist)
	}
	vars, _ := json.Marshal(s.Variables)
	if leaks(string(vars)) {
		t.Errorf("variables leak the secret: %s", vars)
	}
}
