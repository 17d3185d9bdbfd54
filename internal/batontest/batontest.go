// Package batontest runs a real Baton server for end-to-end tests: a SQLite
// store in t.TempDir(), a started runner, the REST API and /metrics on an
// httptest server bound to 127.0.0.1:0, all closed by t.Cleanup.
//
//	srv := batontest.MustStartServer(t, batontest.WithHandler("service:payout", h))
//	var inst baton.Instance
//	srv.MustDo(t, "POST", "/api/runtime/start", baton.StartRequest{...}, &inst, 201)
//
// The API authenticates with the test users' tokens (Users): Do and MustDo
// send the admin's; srv.As(batontest.ClerkToken) sends another, and
// srv.As("") none. A request that carries no token at all (a client built
// without one) is taken as the admin's, unless the server was started
// WithStrictAuth: then it gets the 401 a real server gives.
package batontest

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/batonhq/baton/internal/handlers"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/mcpbridge"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/sqlite"
)

// The test users' tokens. The server knows them by their SHA-256, as a
// tokens file would hold them.
const (
	// AdminToken is admin's: role admin, no groups.
	AdminToken = "test-admin"
	// ManagerToken is manager's: role operator, group managers.
	ManagerToken = "test-manager"
	// ClerkToken is clerk's: role viewer, group clerks.
	ClerkToken = "test-clerk"
	// AnnToken is ann's: role viewer, group managers.
	AnnToken = "test-ann"
)

// User is a test user and its token.
type User struct {
	auth.Identity
	Token string
}

// Users are the identities the test server knows (the same users as
// baton serve --dev, with other tokens).
var Users = []User{
	{Identity: auth.Identity{User: "admin", Role: auth.Admin}, Token: AdminToken},
	{Identity: auth.Identity{User: "manager", Groups: []string{"managers"}, Role: auth.Operator}, Token: ManagerToken},
	{Identity: auth.Identity{User: "clerk", Groups: []string{"clerks"}, Role: auth.Viewer}, Token: ClerkToken},
	{Identity: auth.Identity{User: "ann", Groups: []string{"managers"}, Role: auth.Viewer}, Token: AnnToken},
}

// Verifier returns a verifier that knows Users.
func Verifier() auth.Verifier {
	var entries []auth.TokenEntry
	for _, u := range Users {
		entries = append(entries, auth.TokenEntry{User: u.User, Groups: u.Groups, Role: u.Role, TokenSHA256: auth.HashToken(u.Token)})
	}
	v, err := auth.NewTokens(entries...)
	if err != nil {
		panic("batontest: test users: " + err.Error()) // the table above is fixed
	}
	return v
}

// Server is a running test server.
type Server struct {
	// URL is the base URL ("http://127.0.0.1:PORT").
	URL     string
	Runner  *runner.Runner
	Store   store.Store
	Metrics *metrics.Metrics
	Client  *http.Client
	HTTP    *httptest.Server
	// Token is the bearer token Do sends (AdminToken; "" sends none).
	// As returns the server with another.
	Token string
}

type options struct {
	handlers []keyed
	restCfg  func(*rest.Config)
	runCfg   func(*runner.Config)
	strict   bool
}

// WithStrictAuth makes a request without a token a 401, as on a real
// server, instead of taking it as the admin's.
func WithStrictAuth() Option {
	return func(o *options) { o.strict = true }
}

type keyed struct {
	key string
	h   runner.Handler
}

// Option changes the server MustStartServer builds.
type Option func(*options)

// WithHandler registers a job handler (runner.Register) before the runner
// starts: a job kind ("send") or "service:TYPE".
func WithHandler(key string, h runner.Handler) Option {
	return func(o *options) { o.handlers = append(o.handlers, keyed{key, h}) }
}

// WithRESTConfig adjusts the API configuration (body limits, heartbeat).
func WithRESTConfig(f func(*rest.Config)) Option {
	return func(o *options) { o.restCfg = f }
}

// WithRunnerConfig adjusts the runner configuration.
func WithRunnerConfig(f func(*runner.Config)) Option {
	return func(o *options) { o.runCfg = f }
}

// MustStartServer starts a server or fails the test. Everything it starts
// is stopped when the test ends.
func MustStartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "baton.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	log := slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelInfo}))
	m := metrics.New(st)
	rcfg := runner.Config{Store: st, Logger: log, Observer: m, PollInterval: 50 * time.Millisecond, Workers: 4}
	if o.runCfg != nil {
		o.runCfg(&rcfg)
	}
	r := runner.New(rcfg)
	handlers.Register(r, handlers.Deps{}) // as serve does; WithHandler adds the rest
	for _, k := range o.handlers {
		r.Register(k.key, k.h)
	}
	if err := r.Start(ctx); err != nil {
		st.Close()
		t.Fatalf("start runner: %v", err)
	}
	done := make(chan struct{})
	cfg := rest.Config{Runner: r, Logger: log, Done: done, Auth: Verifier()}
	if o.restCfg != nil {
		o.restCfg(&cfg)
	}
	var api http.Handler = rest.New(cfg)
	if !o.strict {
		api = anonymousAsAdmin(api)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.Handle("/", api)
	// /mcp as serve mounts it.
	mux.Handle("/mcp", mcpbridge.HTTPHandler(api, "test"))
	hs := httptest.NewServer(mux) // listens on 127.0.0.1:0
	s := &Server{URL: hs.URL, Runner: r, Store: st, Metrics: m, Client: hs.Client(), HTTP: hs, Token: AdminToken}
	t.Cleanup(func() {
		close(done)
		hs.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Stop(sctx); err != nil {
			t.Errorf("stop runner: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// anonymousAsAdmin gives a request that carries no token the admin's, so
// that clients built without a token work against the test server.
func anonymousAsAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" && !r.URL.Query().Has("access_token") {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+AdminToken)
		}
		next.ServeHTTP(w, r)
	})
}

// As returns the server with Do and MustDo (and the helpers built on them)
// sending token instead; "" sends no Authorization header.
func (s *Server) As(token string) *Server {
	c := *s
	c.Token = token
	return &c
}

// Do sends a request with body (nil, []byte, string or a value encoded as
// JSON) with the server's Token, and returns the response with its body
// read. header pairs are set last: an "Authorization" pair replaces the
// token.
func (s *Server) Do(t testing.TB, method, path string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode request body: %v", err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, data
}

// MustDo is Do that fails the test unless the status is want, and decodes
// the response into out (when not nil).
func (s *Server) MustDo(t testing.TB, method, path string, body, out any, want int) {
	t.Helper()
	resp, data := s.Do(t, method, path, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d; body: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

// Deploy deploys a definition file and returns the result.
func (s *Server) Deploy(t testing.TB, path string) baton.DeployResult {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ct := "application/json"
	if model.IsXML(src) {
		ct = "application/xml"
	}
	resp, data := s.Do(t, http.MethodPost, "/api/definitions?name="+filepath.Base(path), src, "Content-Type", ct)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("deploy %s = %d: %s", path, resp.StatusCode, data)
	}
	var out baton.DeployResult
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("deploy %s: decode %s: %v", path, data, err)
	}
	return out
}

// Instance reads an instance.
func (s *Server) Instance(t testing.TB, id string) baton.Instance {
	t.Helper()
	var inst baton.Instance
	s.MustDo(t, http.MethodGet, "/api/runtime/instance/"+id, nil, &inst, http.StatusOK)
	return inst
}

// WaitStatus polls an instance until it has the status, or fails the test
// after timeout.
func (s *Server) WaitStatus(t testing.TB, id, status string, timeout time.Duration) baton.Instance {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		inst := s.Instance(t, id)
		if inst.Status == status {
			return inst
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s is %s at %v after %v, want %s; incidents: %+v", id, inst.Status, inst.CurrentNodeIDs, timeout, status, inst.Incidents)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testWriter sends log lines to t.Log until the test ends.
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func newTestWriter(t testing.TB) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
