package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestClientToken: every client command sends --token (or BATON_TOKEN) as
// a bearer token, and a 401 says how to pass one.
func TestClientToken(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"title":"Unauthorized","status":401,"detail":"not authenticated: send Authorization: Bearer <token>"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/runtime/tasks"):
			_, _ = w.Write([]byte(`{"tasks":[]}`))
		case r.URL.Path == "/api/definitions":
			_, _ = w.Write([]byte(`{"id":"x","version":1,"created":true}`))
		default:
			_, _ = w.Write([]byte(`{"instanceId":"i1","status":"WAITING"}`))
		}
	}))
	defer srv.Close()
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1]
	}
	run := func(want int, args ...string) string {
		t.Helper()
		m, stdout, stderr := newServeTestMain()
		m.Stdin = strings.NewReader(`{"id":"x"}`)
		code := m.Exec(context.Background(), append(args, "--server", srv.URL))
		if code != want {
			t.Fatalf("baton %v: exit %d, want %d; stdout %s stderr %s", args, code, want, stdout, stderr)
		}
		return stdout.String() + stderr.String()
	}

	for _, args := range [][]string{
		{"instance", "i1"},
		{"start", "loan"},
		{"tasks", "--all"},
		{"complete", "t1", "--var", "approved=true"},
		{"deploy", "-"},
	} {
		run(ExitOK, append(args, "--token", "tok-1")...)
		if got := last(); got != "Bearer tok-1" {
			t.Errorf("%v sent Authorization %q, want Bearer tok-1", args, got)
		}
	}
	t.Setenv("BATON_TOKEN", "from-env")
	run(ExitOK, "instance", "i1")
	if got := last(); got != "Bearer from-env" {
		t.Errorf("with BATON_TOKEN: Authorization %q", got)
	}
	// --token wins over the environment; an empty one sends none.
	run(ExitOK, "instance", "i1", "--token", "flag")
	if got := last(); got != "Bearer flag" {
		t.Errorf("--token and BATON_TOKEN: Authorization %q", got)
	}
	out := run(ExitFailed, "instance", "i1", "--token", "")
	if got := last(); got != "" || !strings.Contains(out, "--token or BATON_TOKEN") {
		t.Errorf("empty --token: Authorization %q, output %q", got, out)
	}
	run(ExitUsage, "instance", "i1", "--token", "Bearer tok-1")
}

// TestStartSendsIdempotencyKey: baton start sends an Idempotency-Key (its
// own, or --idempotency-key) and sends the start again with the same key
// when the answer is a 503 or never comes.
func TestStartSendsIdempotencyKey(t *testing.T) {
	var (
		mu   sync.Mutex
		keys []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch n {
		case 1: // the connection drops before the answer
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case 2:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":503,"detail":"busy"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"instanceId":"i1","status":"WAITING"}`))
	}))
	defer srv.Close()
	run := func(args ...string) []string {
		t.Helper()
		mu.Lock()
		keys = nil
		mu.Unlock()
		m, stdout, stderr := newServeTestMain()
		if code := m.Exec(context.Background(), append(args, "--server", srv.URL, "--token", "t")); code != ExitOK || !strings.Contains(stdout.String(), `"i1"`) {
			t.Fatalf("baton %v: exit %d; stdout %s stderr %s", args, code, stdout, stderr)
		}
		mu.Lock()
		defer mu.Unlock()
		return keys
	}
	got := run("start", "order")
	if len(got) != 3 || got[0] == "" || got[0] != got[1] || got[1] != got[2] {
		t.Errorf("baton start sent keys %q, want one key three times", got)
	}
	got = run("start", "order", "--idempotency-key", "order-9-start")
	if len(got) != 3 || got[0] != "order-9-start" || got[2] != "order-9-start" {
		t.Errorf("baton start --idempotency-key sent %q, want order-9-start each time", got)
	}
}
