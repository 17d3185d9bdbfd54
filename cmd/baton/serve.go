package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/handlers"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/httpcall"
	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/mcpbridge"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/store/sqlite"
	"github.com/batonhq/baton/internal/webhook"
	"github.com/batonhq/baton/web"
)

// serveCommand is `baton serve`: the store, the runner and the HTTP API.
type serveCommand struct {
	main *Main

	db              string
	addr            string
	workers         int
	deployDir       string
	dev             bool
	tokensFile      string
	mcpFile         string
	logFormat       string
	logLevel        string
	httpEnv         string
	shutdownTimeout time.Duration
	leaseFor        time.Duration
	maxCrashes      int
	thrownTTL       time.Duration
	retention       string
	retentionEvery  time.Duration
	brokersFile     string
	webhookSecrets  string
	scripts         scriptFlags

	st store.Store
}

func (c *serveCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("serve", "(--tokens FILE | --dev) [--db PATH|URL] [--addr HOST:PORT] [--workers N] [--deploy DIR]", `
Run the Baton server: open the database (migrating it), start the job
runner, and serve the REST API (OpenAPI document at /api/openapi.json), the
live event stream, /healthz, /readyz and Prometheus metrics at /metrics.

--db is an SQLite file path (created if missing) or a postgres:// URL.
--deploy deploys every *.json and *.bpmn file of DIR at start; a file whose
content is already deployed is skipped, so restarts add no versions.

Service tasks with an "http" block are called in-process; their templates
see the environment variables named by --http-env as env.NAME. Send tasks
are logged, not delivered, until a notification channel is configured.

Every API call needs a bearer token (docs/auth.md). --tokens reads the
users, groups, roles and token hashes from a JSON file. --dev adds four
demo users with fixed, public tokens and prints them: admin (dev-admin),
manager (operator, group managers: dev-manager), clerk (viewer, group
clerks: dev-clerk) and ann (viewer, group managers: dev-ann). --dev also
starts a demo service on 127.0.0.1 for the examples' HTTP calls and points
PAYMENTS_URL, WAREHOUSE_URL and ORDERS_URL at it unless they are set. Never
use --dev on a server that others can reach. With neither, serve refuses to
start: the API is never open.

On SIGINT or SIGTERM the server stops accepting requests, lets running jobs
finish (or releases them) within --shutdown-timeout, closes the database
and exits 0.

Script tasks and JavaScript conditions run in a pool of sandbox worker
processes, each under --script-memory and --script-timeout
(docs/security.md).

Flags take their defaults from BATON_DB, BATON_ADDR, BATON_WORKERS,
BATON_TOKENS, BATON_LOG_FORMAT, BATON_LOG_LEVEL, BATON_HTTP_ENV,
BATON_SCRIPT_WORKERS, BATON_SCRIPT_MEMORY and BATON_SCRIPT_TIMEOUT.`)
	workers, err := envInt("BATON_WORKERS", 16)
	if err != nil {
		return usageErrorf("%v", err)
	}
	fs.StringVar(&c.db, "db", envOr("BATON_DB", "./baton.db"), "SQLite `PATH` or postgres:// URL")
	fs.StringVar(&c.addr, "addr", envOr("BATON_ADDR", ":8080"), "listen on `HOST:PORT` (port 0 picks a free one)")
	fs.IntVar(&c.workers, "workers", workers, "run at most `N` jobs at once")
	fs.StringVar(&c.deployDir, "deploy", "", "deploy the *.json and *.bpmn workflows in `DIR` at start")
	fs.BoolVar(&c.dev, "dev", false, "development mode: demo users with fixed, public tokens (dev-admin, dev-manager, dev-clerk, dev-ann)")
	fs.StringVar(&c.mcpFile, "mcp-servers", envOr("BATON_MCP_SERVERS", ""), "read the MCP servers agent tasks may use (name: command or url) from the JSON `FILE` (docs/llm.md)")
	fs.StringVar(&c.tokensFile, "tokens", envOr("BATON_TOKENS", ""), "read API tokens (user, groups, role, SHA-256 of the token) from the JSON `FILE`")
	fs.StringVar(&c.logFormat, "log-format", envOr("BATON_LOG_FORMAT", "text"), "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", envOr("BATON_LOG_LEVEL", "info"), "log level: debug, info, warn or error")
	fs.StringVar(&c.httpEnv, "http-env", envOr("BATON_HTTP_ENV", strings.Join(demoEnv, ",")), "comma-separated environment `NAMES` visible to HTTP service task templates as env.NAME")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long shutdown waits for requests and jobs")
	fs.DurationVar(&c.leaseFor, "lease", 30*time.Second, "how long a job lease lasts before another node (or this one, restarted) takes the job over")
	fs.IntVar(&c.maxCrashes, "max-job-crashes", 3, "dead-letter a job after the process ended `N` times while running it")
	fs.DurationVar(&c.thrownTTL, "thrown-message-ttl", runner.DefaultThrownMessageTTL, "keep a message a throw event sent for `D` when nothing waits for it yet (0: drop it)")
	fs.StringVar(&c.retention, "retention", envOr("BATON_RETENTION", ""), "remove instances that ended more than `D` ago (30d, 12h, P30D) with their history, unless their definition sets its own retention; empty: keep them (docs/operations.md)")
	fs.DurationVar(&c.retentionEvery, "retention-every", 10*time.Minute, "run the retention purge every `D` (one node of the cluster runs each)")
	fs.StringVar(&c.brokersFile, "brokers", envOr("BATON_BROKERS", ""), "connect the message brokers configured in the JSON `FILE` (docs/brokers.md)")
	fs.StringVar(&c.webhookSecrets, "webhook-secrets", envOr("BATON_WEBHOOK_SECRETS", ""), "take inbound webhook secrets from the environment variables the JSON `FILE` names (docs/webhooks.md)")
	if err := c.scripts.register(fs); err != nil {
		return err
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("serve takes no arguments (got %q)", pos[0])
	}
	if c.workers <= 0 {
		return usageErrorf("--workers must be positive")
	}
	if c.thrownTTL < 0 {
		return usageErrorf("--thrown-message-ttl must not be negative")
	}
	if c.retention != "" {
		if _, err := model.ParseRetention(c.retention); err != nil {
			return usageErrorf("--retention: %v", err)
		}
	}
	if c.retentionEvery <= 0 {
		return usageErrorf("--retention-every must be positive")
	}
	if c.leaseFor <= 0 || c.maxCrashes <= 0 {
		return usageErrorf("--lease and --max-job-crashes must be positive")
	}
	if err := c.scripts.validate(); err != nil {
		return err
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return usageErrorf("--log-format must be text or json")
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		return usageErrorf("%v", err)
	}
	if c.db == "" {
		return usageErrorf("--db is empty")
	}
	if !c.dev && c.tokensFile == "" {
		return usageErrorf("serve needs --tokens FILE (API tokens; see docs/auth.md) or --dev (demo users with public tokens): the API never runs without authentication")
	}
	return nil
}

// devUsers are the --dev demo users. Their tokens are fixed so that
// several nodes, scripts and tests agree on them, and therefore public.
var devUsers = []struct {
	user   string
	groups []string
	role   auth.Role
	token  string
}{
	{"admin", nil, auth.Admin, "dev-admin"},
	{"manager", []string{"managers"}, auth.Operator, "dev-manager"},
	{"clerk", []string{"clerks"}, auth.Viewer, "dev-clerk"},
	{"ann", []string{"managers"}, auth.Viewer, "dev-ann"},
}

// devTokens is the verifier of the demo users.
func devTokens() *auth.Tokens {
	var entries []auth.TokenEntry
	for _, u := range devUsers {
		entries = append(entries, auth.TokenEntry{User: u.user, Groups: u.groups, Role: u.role, TokenSHA256: auth.HashToken(u.token)})
	}
	t, err := auth.NewTokens(entries...)
	if err != nil {
		panic("demo users: " + err.Error()) // the table above is fixed
	}
	return t
}

// verifier builds the API's token verifier from --tokens and --dev (and
// the database's tokens, when the store keeps them), and announces the
// demo users.
func (c *serveCommand) verifier(st store.Store, log *slog.Logger) (auth.Verifier, error) {
	var vs []auth.Verifier
	if c.tokensFile != "" {
		t, err := auth.LoadFile(c.tokensFile)
		if err != nil {
			return nil, usageErrorf("--tokens: %v", err)
		}
		if t.Len() == 0 {
			log.Warn("the tokens file lists no token: only --dev users (if any) can call the API", "file", c.tokensFile)
		}
		log.Info("API tokens loaded", "file", c.tokensFile, "tokens", t.Len())
		vs = append(vs, t)
	}
	if ts, ok := st.(auth.TokenStore); ok {
		vs = append(vs, &auth.Tokens{Store: ts, NotFound: store.ErrNotFound})
	}
	if c.dev {
		vs = append(vs, devTokens())
		for _, u := range devUsers {
			fmt.Fprintf(c.main.Stdout, "dev token for %s: %s\n", u.user, u.token)
		}
		fmt.Fprintln(c.main.Stderr, "WARNING: --dev: the demo tokens above are public (they are in the documentation); anyone who can reach this server can use them. Never use --dev on a server that others can reach.")
		log.Warn("development mode: demo users with PUBLIC tokens are enabled", "users", "admin, manager, clerk, ann")
	}
	// JWTs of the identity provider come last: a static token never
	// reaches the network.
	jwt, err := oidcVerifier()
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	if jwt != nil {
		log.Info("OIDC bearer tokens accepted", "issuer", jwt.Issuer, "audience", jwt.Audience)
		vs = append(vs, jwt)
	}
	if len(vs) == 1 {
		return vs[0], nil
	}
	return auth.Chain(vs...), nil
}

func (c *serveCommand) Run(ctx context.Context) error {
	log := c.logger()
	tr, log, err := startTracing(ctx, log)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer tr.stop(log)

	stopScripts, err := c.scripts.install(log)
	if err != nil {
		return err
	}
	defer stopScripts()

	st, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	c.st = st
	log.Info("database open", "db", redactDSN(c.db))

	pol, err := egressPolicy()
	if err != nil {
		return usageErrorf("%v", err)
	}
	pol.Wrap = tr.transport()
	var tplDir string
	if c.deployDir != "" {
		tplDir = filepath.Join(c.deployDir, "templates")
	}
	senders, templates, subs, err := notifications(log, pol, tplDir)
	if err != nil {
		return usageErrorf("%v", err)
	}
	verifier, err := c.verifier(st, log)
	if err != nil {
		return err
	}

	lcfg, err := llmConfig(st, tr)
	if err != nil {
		return usageErrorf("%v", err)
	}
	m := metrics.New(st)
	lcfg.OnRecord = func(kind string, row store.DecisionRow) {
		m.LLMCall(row.Provider, row.Model, kind, row.InputTokens, row.OutputTokens, row.CostMicros)
	}
	cfg := runner.Config{Store: st, Logger: log, Workers: c.workers, Observer: m, SendNotification: senders.Deliver,
		LeaseFor: c.leaseFor, MaxCrashes: c.maxCrashes, ThrownMessageTTL: thrownTTL(c.thrownTTL),
		RetentionEvery: c.retentionEvery}
	if c.retention != "" {
		cfg.Retention, _ = model.ParseRetention(c.retention) // checked in ParseFlags
	}
	if tr.on() {
		cfg.Tracer = tr.tp
	}
	if subs != nil {
		cfg.Outbox = subs.OutboxRows
	}
	// Advice to retry may apply itself where a definition allows it; the
	// runner it needs is made below.
	var r *runner.Runner
	lcfg.Definition = func(ctx context.Context, id string, version int) (*model.Definition, error) {
		d, _, err := r.Definition(ctx, id, version)
		return d, err
	}
	lcfg.Recover = func(ctx context.Context, req runner.RecoverRequest) (*engine.State, error) {
		return r.Recover(ctx, req)
	}
	cfg.OnDeadLetter = llmtask.Advise(lcfg)
	r = runner.New(cfg)
	// The service tasks' client is traced in front of the demo's
	// transport, which sends the demo's requests around the egress guard.
	svcPol := pol
	svcPol.Wrap = nil
	client, env := svcPol.Client(5*time.Minute), pickEnv(c.httpEnv)
	if c.dev { // the examples' outside services, on 127.0.0.1 (demo.go)
		stopDemo, err := startDemo(log, client, env)
		if err != nil {
			return err
		}
		defer stopDemo()
	}
	sources, err := loadMCPServers(c.mcpFile)
	if err != nil {
		return err
	}
	if sources != nil {
		defer sources.Close()
	}
	if wrap := tr.transport(); wrap != nil {
		client.Transport = wrap(client.Transport)
	}
	handlers.Register(r, handlers.Deps{
		MCP: sources,
		Service: &httpcall.Handler{
			Client:  client,
			Env:     env,
			Secrets: httpcall.SecretsFromEnviron(os.Environ()), // BATON_SECRET_<NAME> → secrets.NAME
		},
		Send: notify.NewHandler(senders, templates),
		LLM:  &lcfg,
	})
	log.Info("llm provider", "provider", lcfg.Provider.Name(), "model", lcfg.Model)
	brokers, err := startBrokers(c.brokersFile, thrownTTL(c.thrownTTL), r, m, log)
	if err != nil {
		return usageErrorf("brokers: %v", err)
	}

	hookSecrets, err := webhook.ReadSecrets(c.webhookSecrets, nil)
	if err != nil {
		return usageErrorf("webhook-secrets: %v", err)
	}
	// The API adds its webhook deploy check to r: made before deployDir.
	streamsDone := make(chan struct{})
	api := rest.New(rest.Config{Runner: r, Auth: verifier, Logger: log, Done: streamsDone, Version: versionString(),
		WebhookSecrets: hookSecrets, WebhookObserver: m.Webhooks()})

	if c.deployDir != "" {
		if err := deployDir(ctx, r, c.deployDir, log); err != nil {
			return err
		}
	}

	// The runner lives until Stop, not until the signal: Stop drains it.
	if err := r.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}

	stopBrokers := runBrokers(context.WithoutCancel(ctx), brokers)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/api/", api)
	mux.Handle("/hooks/", api) // inbound webhooks, verified by their own secrets
	mux.Handle("/mcp", mcpbridge.HTTPHandler(api, versionString()))
	mux.Handle("/healthz", api)
	mux.Handle("/readyz", api)
	if login := oidcLogin(verifier); login != nil { // the UI's single sign-on
		mux.Handle("/auth/oidc", login.Handler())
		mux.Handle("/auth/oidc/", login.Handler())
	}
	mux.Handle("/", web.Handler()) // the UI: every other path
	srv := newHTTPServer(mux, log)
	srv.RegisterOnShutdown(func() { close(streamsDone) })

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		stopBrokers()
		c.stopRunner(r, log)
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	fmt.Fprintf(c.main.Stdout, "baton listening on %s\n", ln.Addr())
	fmt.Fprintf(c.main.Stdout, "web UI at %s\n", uiURL(ln.Addr()))
	log.Info("serving", "addr", ln.Addr().String(), "workers", c.workers, "dev", c.dev)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err = <-serveErr:
		// The listener failed; still drain the runner.
		log.Error("server stopped", "err", err)
	case <-ctx.Done():
		log.Info("shutting down")
	}

	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		log.Warn("http shutdown", "err", serr)
		_ = srv.Close()
	}
	stopBrokers()
	if serr := r.Stop(sctx); serr != nil {
		log.Warn("runner stop", "err", serr)
	}
	log.Info("stopped")
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// llmConfig is the LLM handlers' configuration from the environment
// (llmProvider reads the provider's variables).
func llmConfig(st store.Store, tr traces) (llmtask.Config, error) {
	prov, llmModel, maxTokens, budget, err := llmProvider(tr.llmClient())
	if err != nil {
		return llmtask.Config{}, err
	}
	prov = tr.provider(prov)
	lcfg := llmtask.Config{Provider: prov, Store: st, Model: llmModel, MaxTokens: maxTokens, InstanceBudget: budget, Pricing: llm.ExamplePricing()}
	if v := os.Getenv("BATON_LLM_MAX_RATE_LIMIT_WAIT"); v != "" {
		if lcfg.MaxRateLimitWait, err = time.ParseDuration(v); err != nil || lcfg.MaxRateLimitWait <= 0 {
			return llmtask.Config{}, fmt.Errorf("BATON_LLM_MAX_RATE_LIMIT_WAIT: %q is not a positive Go duration", v)
		}
	}
	return lcfg, nil
}

// newHTTPServer bounds every phase of a request, so that a slow or idle
// client cannot hold a connection forever.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute, // the event stream lifts it for itself
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Close closes the database.
func (c *serveCommand) Close() error {
	if c.st == nil {
		return nil
	}
	err := c.st.Close()
	c.st = nil
	return err
}

func (c *serveCommand) stopRunner(r *runner.Runner, log *slog.Logger) {
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := r.Stop(sctx); err != nil {
		log.Warn("runner stop", "err", err)
	}
}

// logger builds the process's slog logger (the only place that does).
func (c *serveCommand) logger() *slog.Logger {
	level, _ := parseLevel(c.logLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(c.main.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.main.Stderr, opts))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// openStore opens PostgreSQL for a postgres:// URL, SQLite otherwise.
func openStore(ctx context.Context, db string) (store.Store, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", redactDSN(db), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", db, err)
	}
	return st, nil
}

// redactDSN hides a password in a database URL for logs.
func redactDSN(db string) string {
	if i := strings.Index(db, "://"); i >= 0 {
		if at := strings.LastIndex(db, "@"); at > i {
			if colon := strings.Index(db[i+3:at], ":"); colon >= 0 {
				return db[:i+3+colon+1] + "***" + db[at:]
			}
		}
	}
	return db
}

// deployDir deploys every definition file in dir (not recursive), in
// name order: workflows (*.json, *.bpmn), decision tables (*.dmn, or a
// JSON decision table) and forms (*.form, or form-js JSON); the content,
// not the name, says which (model.DetectFormat). A file whose exact
// content is already deployed as any version of its definition is
// skipped, so that restarting with --deploy adds no versions even when two
// files share a definition id.
func deployDir(ctx context.Context, r *runner.Runner, dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".json", ".bpmn", ".dmn", ".form":
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Strings(files)
	for _, path := range files {
		src, err := readSource(nil, path)
		if err != nil {
			return err
		}
		known, found, err := r.Deployed(ctx, path, src)
		if err != nil {
			return fmt.Errorf("deploy %s: %w", path, err)
		}
		if found {
			log.Info("already deployed", "file", path, "definition", known.ID, "version", known.Version)
			continue
		}
		row, _, err := r.Deploy(ctx, path, src, "baton serve --deploy")
		if err != nil {
			return fmt.Errorf("deploy %s: %w", path, err)
		}
		log.Info("deployed", "file", path, "definition", row.ID, "format", row.Format, "version", row.Version)
	}
	return nil
}

// pickEnv returns the named environment variables that are set.
func pickEnv(names string) map[string]string {
	env := map[string]string{}
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if v, ok := os.LookupEnv(n); ok {
			env[n] = v
		}
	}
	return env
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) (int, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a number", name, v)
	}
	return n, nil
}

// versionString is the version shown in the OpenAPI document.
func versionString() string {
	if version != "" {
		return version
	}
	return "dev"
}

// thrownTTL maps --thrown-message-ttl to runner.Config.ThrownMessageTTL,
// where 0 means the default and a negative value no buffering.
func thrownTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
