package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/batonhq/baton/internal/testkit"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
)

// TestServe runs `baton serve` in-process on 127.0.0.1:0 with the example
// workflows, drives the loan example to its end with the client commands,
// and shuts the server down by cancelling its context.
func TestServe(t *testing.T) {
	var (
		payMu   sync.Mutex
		payKeys []string
	)
	payments := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		payMu.Lock()
		payKeys = append(payKeys, r.Header.Get("Idempotency-Key"))
		payMu.Unlock()
		if r.URL.Path != "/payouts" || body["amount"] != float64(20000) {
			http.Error(w, "unexpected payout request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"payoutId": "pay-1"}`)
	}))
	defer payments.Close()
	t.Setenv("PAYMENTS_URL", payments.URL)
	t.Setenv("BATON_EGRESS_ALLOW_LOOPBACK", "true") // the fake payment service is on 127.0.0.1

	srv := startServe(t, "--deploy", "../../examples", "--workers", "2")

	resp, err := http.Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
	// --dev printed the demo users' fixed tokens, and the API needs one.
	for _, line := range []string{"dev token for admin: dev-admin", "dev token for manager: dev-manager", "dev token for clerk: dev-clerk", "dev token for ann: dev-ann"} {
		if !strings.Contains(srv.stdout.String(), line) {
			t.Errorf("serve did not print %q; stdout:\n%s", line, srv.stdout)
		}
	}
	if !strings.Contains(srv.stderr.String(), "public") {
		t.Errorf("no warning that the dev tokens are public; stderr:\n%s", srv.stderr)
	}
	for token, want := range map[string]int{"": http.StatusUnauthorized, "wrong": http.StatusUnauthorized, "dev-clerk": http.StatusOK} {
		resp, err := srv.get("/api/runtime/tasks", token)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /api/runtime/tasks with token %q = %d, want %d", token, resp.StatusCode, want)
		}
	}
	out := serveCLI(t, srv, ExitFailed, nil, "tasks", "--token", "")
	if !strings.Contains(out, "not authenticated") || !strings.Contains(out, "--token") {
		t.Errorf("tasks without a token: %q, want a 401 that says to pass --token", out)
	}
	out = serveCLI(t, srv, ExitFailed, nil, "deploy", "../../examples/loan-approval.json", "--token", "dev-manager")
	if !strings.Contains(out, "needs the admin role") {
		t.Errorf("deploy as an operator: %q, want a 403", out)
	}

	// The examples are deployed; deploying one again changes nothing.
	var dep baton.DeployResult
	serveCLI(t, srv, 0, &dep, "deploy", "../../examples/loan-approval.json")
	if dep.ID != "loan-approval" || dep.Created {
		t.Errorf("deploy again = %+v, want loan-approval not created", dep)
	}

	var inst baton.Instance
	serveCLI(t, srv, 0, &inst, "start", "loan-approval", "--var", "amount=20000",
		"--var", `applicant={"email":"ada@example.com"}`, "--business-key", "loan-7")
	if inst.Status != baton.StatusWaiting || inst.BusinessKey != "loan-7" {
		t.Fatalf("started = %s at %v (incidents %+v), want WAITING at the review", inst.Status, inst.CurrentNodeIDs, inst.Incidents)
	}

	var tasks baton.TaskList
	serveCLI(t, srv, 0, &tasks, "tasks", "--group", "managers", "--instance", inst.InstanceID, "--json")
	if len(tasks.Tasks) != 1 {
		t.Fatalf("tasks = %+v, want one", tasks)
	}
	table := serveCLI(t, srv, 0, nil, "tasks", "--group", "managers")
	if !strings.Contains(table, tasks.Tasks[0].ID) || !strings.Contains(table, "Manager review") {
		t.Errorf("tasks table:\n%s", table)
	}
	// ann (group managers) sees the review among her tasks; clerk does not.
	if table := serveCLI(t, srv, 0, nil, "tasks", "--token", "dev-ann"); !strings.Contains(table, tasks.Tasks[0].ID) {
		t.Errorf("ann's tasks:\n%s", table)
	}
	if table := serveCLI(t, srv, 0, nil, "tasks", "--token", "dev-clerk"); !strings.Contains(table, "no open tasks") {
		t.Errorf("clerk's tasks:\n%s", table)
	}
	out = serveCLI(t, srv, ExitFailed, nil, "complete", tasks.Tasks[0].ID, "--var", "approved=true", "--token", "dev-clerk")
	if !strings.Contains(out, "clerk may not complete") {
		t.Errorf("complete as clerk: %q, want a 403", out)
	}
	out = serveCLI(t, srv, ExitInvalid, nil, "complete", tasks.Tasks[0].ID, "--var", "approved=yes", "--var", "bogus=1", "--token", "dev-ann")
	if !strings.Contains(out, "approved") || !strings.Contains(out, "bogus") {
		t.Errorf("invalid submission: %q, want both bad fields named", out)
	}
	serveCLI(t, srv, 0, nil, "complete", tasks.Tasks[0].ID, "--var", "approved=true", "--token", "dev-ann")

	deadline := time.Now().Add(15 * time.Second)
	for {
		var got baton.Instance
		serveCLI(t, srv, 0, &got, "instance", inst.InstanceID)
		if got.Status == baton.StatusCompleted {
			if got.ProcessData["payoutId"] != "pay-1" {
				t.Errorf("processData = %v, want the payout's answer merged", got.ProcessData)
			}
			byAnn := false
			for _, h := range got.ExecutionHistory {
				byAnn = byAnn || (h.NodeID == "review" && h.Actor == "ann")
			}
			if !byAnn {
				t.Errorf("history does not show ann completing the review: %+v", got.ExecutionHistory)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance is %s at %v, incidents %+v; want COMPLETED", got.Status, got.CurrentNodeIDs, got.Incidents)
		}
		time.Sleep(50 * time.Millisecond)
	}
	payMu.Lock()
	if len(payKeys) != 1 || !strings.HasPrefix(payKeys[0], "baton-") {
		t.Errorf("payout calls with idempotency keys %q, want one", payKeys)
	}
	payMu.Unlock()

	// Errors: the problem's detail and a non-zero exit.
	out = serveCLI(t, srv, ExitFailed, nil, "instance", "no-such-instance")
	if !strings.Contains(out, `instance "no-such-instance" does not exist`) {
		t.Errorf("instance error output: %q", out)
	}
	out = serveCLI(t, srv, ExitFailed, nil, "complete", tasks.Tasks[0].ID, "--var", "approved=true")
	if !strings.Contains(out, "already completed") {
		t.Errorf("second complete output: %q", out)
	}

	srv.stop(t)
}

// TestServeRedeploy: restarting with --deploy on the same database adds no
// versions, and the loan approval's JSON and BPMN files are two
// definitions (distinct ids), not two versions of one.
func TestServeRedeploy(t *testing.T) {
	db := filepath.Join(t.TempDir(), "baton.db")
	versions := func() []int {
		srv := startServe(t, "--db", db, "--deploy", "../../examples")
		defer srv.stop(t)
		var out []int
		for _, id := range []string{"loan-approval", "loan-approval-bpmn"} {
			resp, err := srv.get("/api/definitions/"+id+"/versions", "dev-clerk")
			if err != nil {
				t.Fatal(err)
			}
			var list baton.DefinitionList
			err = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, len(list.Definitions))
		}
		return out
	}
	first, second := versions(), versions()
	if !slices.Equal(first, []int{1, 1}) || !slices.Equal(second, []int{1, 1}) {
		t.Errorf("versions of loan-approval and loan-approval-bpmn after two starts: %v then %v, want one each both times", first, second)
	}
}

// TestServeNeedsAuthentication: without --dev or --tokens serve refuses
// to start; with --tokens the file's tokens work and the demo ones do not;
// a bad tokens file is reported with its line.
func TestServeNeedsAuthentication(t *testing.T) {
	m, stdout, stderr := newServeTestMain()
	code := m.Exec(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "baton.db")})
	if code != ExitUsage || !strings.Contains(stderr.String(), "--tokens FILE") || !strings.Contains(stderr.String(), "--dev") {
		t.Errorf("serve without authentication: exit %d, stdout %q, stderr %q; want a usage error naming --tokens and --dev", code, stdout, stderr)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "tokens.json")
	entry := `[{"user": "ops", "groups": ["managers"], "role": "operator", "tokenSha256": "` + auth.HashToken("s3cret-ops-token") + `"}]`
	if err := os.WriteFile(file, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "--tokens", file)
	if strings.Contains(srv.stdout.String(), "dev token") {
		t.Errorf("serve --tokens printed dev tokens:\n%s", srv.stdout)
	}
	resp, err := srv.get("/api/me", "s3cret-ops-token")
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		User   string   `json:"user"`
		Groups []string `json:"groups"`
		Role   string   `json:"role"`
	}
	err = json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || me.User != "ops" || me.Role != "operator" || !slices.Equal(me.Groups, []string{"managers"}) {
		t.Errorf("GET /api/me = %d %+v (%v), want ops, operator, managers", resp.StatusCode, me, err)
	}
	if resp, err := srv.get("/api/me", "dev-admin"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a dev token without --dev: %v %v, want 401", resp.StatusCode, err)
	}
	srv.stop(t)

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"user": "ops", "role": "boss", "token": "clear"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, stderr = newServeTestMain()
	code = m.Exec(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "baton.db"), "--tokens", bad})
	if code != ExitUsage || !strings.Contains(stderr.String(), "bad.json:1") || !strings.Contains(stderr.String(), "in clear") {
		t.Errorf("bad tokens file: exit %d, stderr %q", code, stderr)
	}
}

func TestServeUnreachableClient(t *testing.T) {
	m, stdout, stderr := newServeTestMain()
	code := m.Exec(context.Background(), []string{"instance", "x", "--server", "http://127.0.0.1:1"})
	if code != ExitFailed || !strings.Contains(stderr.String(), "cannot reach the Baton server") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "extra"},
		{"serve", "--workers", "0"},
		{"serve", "--log-format", "xml"},
		{"serve", "--dev", "--retention", "a month"},
		{"serve", "--dev", "--retention", "-1d"},
		{"serve", "--dev", "--retention-every", "0s"},
		{"start"},
		{"complete", "a", "b"},
	} {
		m, _, stderr := newServeTestMain()
		if code := m.Exec(context.Background(), args); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, code, ExitUsage, stderr)
		}
	}
}

type serveProc struct {
	url    string
	cancel context.CancelFunc
	done   chan int
	stdout *testkit.Buffer
	stderr *testkit.Buffer
}

// startServe runs `baton serve` on 127.0.0.1:0 with a temporary database
// and waits for its listen line.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &testkit.Buffer{}, &testkit.Buffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr}
	p := &serveProc{cancel: cancel, done: make(chan int, 1), stdout: stdout, stderr: stderr}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "baton.db"), "--shutdown-timeout", "10s"}, args...)
	if !slices.Contains(args, "--tokens") {
		args = append(args, "--dev")
	}
	go func() { p.done <- m.Exec(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			t.Errorf("baton serve did not stop")
		}
	})
	listen := regexp.MustCompile(`baton listening on (127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listen.FindStringSubmatch(stdout.String()); m != nil {
			p.url = "http://" + m[1]
			return p
		}
		select {
		case code := <-p.done:
			p.done <- code
			t.Fatalf("baton serve exited with %d before listening; stderr:\n%s", code, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baton serve printed no listen address; stdout %q, stderr:\n%s", stdout, stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop cancels the server's context (as SIGTERM does) and checks that it
// drains and exits 0.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code
		if code != ExitOK {
			t.Errorf("baton serve exited %d after shutdown; stderr:\n%s", code, p.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("baton serve did not stop within 15s")
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Errorf("no clean shutdown in the log:\n%s", p.stderr)
	}
	if _, err := http.Get(p.url + "/healthz"); err == nil {
		t.Errorf("server still answers after shutdown")
	}
}

// get sends a GET with a bearer token ("" for none).
func (p *serveProc) get(path, token string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, p.url+path, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}

// serveCLI runs a client command against the server as the --dev admin
// (unless args has a --token), checks its exit code, and decodes its
// standard output into out (when not nil). It returns stdout and stderr
// together.
func serveCLI(t *testing.T, p *serveProc, wantCode int, out any, args ...string) string {
	t.Helper()
	m, stdout, stderr := newServeTestMain()
	args = append(args, "--server", p.url)
	if !slices.Contains(args, "--token") {
		args = append(args, "--token", "dev-admin")
	}
	code := m.Exec(context.Background(), args)
	if code != wantCode {
		t.Fatalf("baton %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout, stderr)
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("baton %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, stdout)
		}
	}
	return stdout.String() + stderr.String()
}

func newServeTestMain() (*Main, *bytes.Buffer, *bytes.Buffer) {
	stdout, stderr := &bytes.Buffer{}, &bytes.Buffer{}
	return &Main{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr}, stdout, stderr
}
