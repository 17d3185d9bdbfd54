package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/webhook"
)

// TestServeWebhooks: serve reads --webhook-secrets, mounts /hooks/ without
// a bearer token, refuses at deploy a webhook naming a secret it lacks,
// and counts requests in baton_webhook_requests_total.
func TestServeWebhooks(t *testing.T) {
	secret := "serve-test-secret-0123456789"
	t.Setenv("BATON_TEST_HOOK_SECRET", secret)
	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"secrets": [{"name": "ci", "env": "BATON_TEST_HOOK_SECRET"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "--webhook-secrets", file)
	post := func(path, token string, body []byte, header ...string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.url+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	def := func(id, secret string) []byte {
		return []byte(`{"id": "` + id + `", "nodes": [
		 {"id": "s", "type": "startEvent", "event": {"kind": "message", "name": "built", "webhook": {"path": "ci/` + id + `", "auth": {"kind": "hmac", "secret": "` + secret + `"}}}},
		 {"id": "e", "type": "endEvent"}], "edges": [{"id": "f", "source": "s", "target": "e"}]}`)
	}
	if code, body := post("/api/definitions", "dev-admin", def("nosecret", "other")); code != http.StatusUnprocessableEntity || !strings.Contains(body, `no webhook secret \"other\"`) {
		t.Errorf("deploy naming an unknown secret = %d %s, want 422", code, body)
	}
	if code, body := post("/api/definitions", "dev-admin", def("build", "ci")); code != http.StatusCreated {
		t.Fatalf("deploy = %d %s", code, body)
	}
	body := []byte(`{"commit": "abc"}`)
	sig := webhook.Sign(&model.WebhookAuth{Kind: "hmac"}, []byte(secret), "", body)
	if code, resp := post("/hooks/ci/build", "", body, "X-Signature-256", sig); code != http.StatusCreated || !strings.Contains(resp, `"started"`) {
		t.Errorf("signed hook = %d %s, want 201 started", code, resp)
	}
	if code, resp := post("/hooks/ci/build", "", body, "X-Signature-256", "00"); code != http.StatusUnauthorized {
		t.Errorf("bad signature = %d %s, want 401", code, resp)
	}
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	for _, line := range []string{`baton_webhook_requests_total{outcome="started",path="ci/build"} 1`, `baton_webhook_requests_total{outcome="unauthorized",path="ci/build"} 1`} {
		if !strings.Contains(string(m), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	srv.stop(t)

	// A secret whose variable is unset stops serve at start.
	t.Setenv("BATON_TEST_HOOK_SECRET", "")
	os.Unsetenv("BATON_TEST_HOOK_SECRET")
	mm, _, stderr := newServeTestMain()
	code := mm.Exec(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "b.db"), "--dev", "--webhook-secrets", file})
	if code != ExitUsage || !strings.Contains(stderr.String(), "BATON_TEST_HOOK_SECRET is not set") {
		t.Errorf("serve with an unset secret: exit %d, stderr %s", code, stderr)
	}
}
