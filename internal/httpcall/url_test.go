package httpcall_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/httpcall"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
)

// TestHostileURLValues sends hostile variable values through every
// position of a URL template and checks that each stays inside its path
// segment or query value: the request reaches the one peer, on the path
// and query the template gives.
func TestHostileURLValues(t *testing.T) {
	var gotURI, gotHost string
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		gotURI, gotHost = r.RequestURI, r.Host
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	h := &httpcall.Handler{Client: srv.Client(), Env: map[string]string{"BASE": srv.URL}}
	hostile := []string{
		"../admin?role=root#",
		"../../etc/passwd",
		"@other-host",
		"x@evil.example:80/",
		"a/b",
		"?admin=1",
		"#frag",
		"%2e%2e%2fadmin",
		"a b&c=d",
		"a\r\nHost: evil",
		"\x00",
		"//evil.example/x",
		"http://evil.example/",
		"..;/admin",
		"ünïcode/é",
	}
	templates := []struct {
		url  string
		want func(v string) string // the request URI the peer must see
	}{
		{srv.URL + "/users/{{v}}/orders", func(v string) string { return "/users/" + pathEsc(v) + "/orders" }},
		{"{{env.BASE}}/users/{{v}}", func(v string) string { return "/users/" + pathEsc(v) }},
		{srv.URL + "/search?q={{v}}&page=1", func(v string) string { return "/search?q=" + queryEsc(v) + "&page=1" }},
		{srv.URL + "/x/{{v}}?id={{v}}", func(v string) string { return "/x/" + pathEsc(v) + "?id=" + queryEsc(v) }},
	}
	cases, held := 0, 0
	for _, tt := range templates {
		for _, v := range hostile {
			cases++
			before := hits
			_, err := h.Work(context.Background(), job(&model.HTTPCall{Method: "GET", URL: tt.url}, map[string]any{"v": v}))
			switch {
			case err != nil:
				t.Errorf("%s with v=%q: %v", tt.url, v, err)
			case hits != before+1:
				t.Errorf("%s with v=%q: the peer saw %d requests, want 1", tt.url, v, hits-before)
			case gotHost != host:
				t.Errorf("%s with v=%q: Host %q, want %q", tt.url, v, gotHost, host)
			case gotURI != tt.want(v):
				t.Errorf("%s with v=%q: request URI %q, want %q", tt.url, v, gotURI, tt.want(v))
			default:
				held++
			}
		}
	}
	t.Logf("hostile URL values: %d cases, %d kept to their segment", cases, held)
}

func pathEsc(v string) string  { return url.PathEscape(v) }
func queryEsc(v string) string { return url.QueryEscape(v) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestURLTemplatesThatCouldMoveTheCall are refused when the definition is
// built and, should one reach the handler, as permanent errors.
func TestURLTemplatesThatCouldMoveTheCall(t *testing.T) {
	for _, u := range []string{
		"{{base}}/x",
		"https://{{host}}/x",
		"https://api.example.com{{path}}",
		"https://api.example.com:{{port}}/x",
		"https://{{user}}@api.example.com/x",
		"{{env.BASE}}{{path}}",
		"{{scheme}}://api.example.com/x",
		"https://api.example.com{{env.X}}{{id}}",
	} {
		def := `{"id":"w","nodes":[{"id":"s","type":"startEvent"},{"id":"pay","type":"serviceTask","http":{"url":` + jsonString(u) + `}},{"id":"e","type":"endEvent"}],
		"edges":[{"id":"f1","source":"s","target":"pay"},{"id":"f2","source":"pay","target":"e"}]}`
		_, err := model.ParseJSON("w.json", []byte(def))
		if err == nil || !strings.Contains(err.Error(), "http.url") || !strings.Contains(err.Error(), "scheme, host or port") {
			t.Errorf("deploy of url %q: error = %v, want a refusal naming http.url and the scheme, host or port", u, err)
		}
		_, err = httpcall.New(nil).Work(context.Background(), job(&model.HTTPCall{URL: u}, map[string]any{"base": "http://127.0.0.1:1", "host": "h", "path": "/p", "port": "1", "user": "u", "id": "i", "scheme": "http"}))
		var perm *runner.PermanentError
		if !errors.As(err, &perm) {
			t.Errorf("run of url %q: error = %v, want permanent", u, err)
		}
	}
	for _, u := range []string{"https://api.example.com/x/{{id}}", "{{env.BASE}}/x?y={{y}}", "https://{{env.HOST}}/x", "{{env.BASE}}", "http://h:8080?q={{q}}#{{f}}"} {
		if _, err := model.SplitURLTemplate(u); err != nil {
			t.Errorf("SplitURLTemplate(%q) = %v, want accepted", u, err)
		}
	}
}

// TestEnvIsTheOperators: a variable named env cannot supply the base.
func TestEnvIsTheOperators(t *testing.T) {
	srv, got := peer(t, http.StatusOK, `{}`)
	h := &httpcall.Handler{Client: srv.Client(), Env: map[string]string{"BASE": srv.URL}}
	_, err := h.Work(context.Background(), job(&model.HTTPCall{URL: "{{env.BASE}}/ok"}, map[string]any{"env": map[string]any{"BASE": "http://evil.example"}}))
	if err != nil || len(*got) != 1 || (*got)[0].path != "/ok" {
		t.Fatalf("Work = %v, requests %+v; want one request to the operator's base", err, *got)
	}
}

// TestPathDotSegmentsAndControlHeadersArePermanent: values that would
// change the path, and header values HTTP cannot carry, fail at once
// instead of being retried.
func TestPathDotSegmentsAndControlHeadersArePermanent(t *testing.T) {
	srv, got := peer(t, http.StatusOK, `{}`)
	h := httpcall.New(srv.Client())
	for _, tt := range []struct {
		call *model.HTTPCall
		vars map[string]any
	}{
		{&model.HTTPCall{URL: srv.URL + "/a/{{v}}/b"}, map[string]any{"v": ".."}},
		{&model.HTTPCall{URL: srv.URL + "/a/{{v}}/b"}, map[string]any{"v": "."}},
		{&model.HTTPCall{URL: srv.URL + "/a/{{v}}/b"}, map[string]any{"v": ""}},
		{&model.HTTPCall{URL: srv.URL, Headers: map[string]string{"X-Tenant": "{{v}}"}}, map[string]any{"v": "a\r\nX-Admin: 1"}},
		{&model.HTTPCall{URL: srv.URL, Headers: map[string]string{"Bad Name": "x"}}, nil},
	} {
		_, err := h.Work(context.Background(), job(tt.call, tt.vars))
		var perm *runner.PermanentError
		if !errors.As(err, &perm) {
			t.Errorf("%+v with %v: error = %v, want permanent", tt.call, tt.vars, err)
		}
	}
	if len(*got) != 0 {
		t.Errorf("the peer saw %d requests, want none", len(*got))
	}
}
