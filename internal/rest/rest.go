// Package rest is Baton's HTTP API: the seed's runtime endpoints, definition
// deployment, instance and task queries, message correlation, incidents, a
// live event stream, health checks and the OpenAPI 3.1 document at
// /api/openapi.json. Handlers are huma operations on a net/http ServeMux.
//
// Every request but the health checks and the API description carries a
// bearer token, verified by Config.Auth; each operation needs a role
// (roles, in auth.go), and who may work on a user task is decided by the
// task (tasks.go). There is no open mode: New refuses a nil verifier.
//
// Commands go through the runner; reads go through the store's query
// methods. Every error is an RFC 9457 problem document (see toProblem for
// the one mapping from Go errors to HTTP statuses).
package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/tracing"
)

// Default limits.
const (
	DefaultMaxBodyBytes       = 1 << 20
	DefaultMaxDefinitionBytes = 16 << 20
	DefaultHeartbeat          = 15 * time.Second
	defaultPageSize           = 100
	maxPageSize               = 1000
)

// Config configures the API handler. Zero fields take defaults.
type Config struct {
	// Runner executes commands; its store answers queries. Required.
	Runner *runner.Runner
	// Auth verifies the bearer token of every request (but /healthz,
	// /readyz and the OpenAPI document). Required: there is no open mode.
	// cmd/baton builds it from a tokens file or the --dev users.
	Auth auth.Verifier
	// Logger receives internal errors (default: discard).
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// MaxDefinitionBytes bounds a deployed definition (default 16 MiB).
	MaxDefinitionBytes int64
	// Heartbeat is the interval of the event stream's keep-alive comment
	// (default 15s).
	Heartbeat time.Duration
	// Done, when closed, ends open event streams (server shutdown: they
	// would otherwise hold http.Server.Shutdown until its deadline).
	Done <-chan struct{}
	// Version is the API version in the OpenAPI document (default "dev").
	Version string
	// IdempotencyTTL is how long an Idempotency-Key and its answer are
	// kept (default 24h); IdempotencyLock is how long a request holds its
	// key before a repeat may take it over (default 15s): a repeat waits
	// up to that long for the first request's answer (idempotency.go).
	IdempotencyTTL  time.Duration
	IdempotencyLock time.Duration
	// WebhookSecrets are the webhook secrets by name (docs/webhooks.md);
	// a definition whose webhook names another is refused at deploy.
	WebhookSecrets map[string][]byte
	// WebhookObserver counts webhook requests (nil: not counted).
	WebhookObserver WebhookObserver
	// MaxStreamsPerToken bounds the event streams one bearer token may
	// hold open at once (default DefaultMaxStreamsPerToken); one more is
	// refused with 429.
	MaxStreamsPerToken int
}

// DefaultMaxStreamsPerToken is Config.MaxStreamsPerToken's default.
const DefaultMaxStreamsPerToken = 8

type server struct {
	cfg    Config
	r      *runner.Runner
	log    *slog.Logger
	errSeq atomic.Uint64

	streamsMu sync.Mutex
	streams   map[[32]byte]int // open event streams per token hash

	idem  *idempotency // set by idempotent
	hooks hookRegistry // webhooks.go
}

// New returns the API handler. It serves /api/..., /healthz and /readyz;
// anything else is a 404 problem. It panics when Config.Runner or
// Config.Auth is nil: an API without a verifier would be open to anyone.
func New(cfg Config) http.Handler {
	if cfg.Runner == nil {
		panic("rest.New: Config.Runner is nil")
	}
	if cfg.Auth == nil {
		panic("rest.New: Config.Auth is nil: the API needs a token verifier (auth.Tokens from a tokens file, or the dev users); it never runs without authentication")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxDefinitionBytes <= 0 {
		cfg.MaxDefinitionBytes = DefaultMaxDefinitionBytes
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if cfg.IdempotencyLock <= 0 {
		cfg.IdempotencyLock = DefaultIdempotencyLock
	}
	if cfg.MaxStreamsPerToken <= 0 {
		cfg.MaxStreamsPerToken = DefaultMaxStreamsPerToken
	}
	installErrors()
	s := &server{cfg: cfg, r: cfg.Runner, log: cfg.Logger, streams: map[[32]byte]int{}}

	mux := http.NewServeMux()
	hc := huma.DefaultConfig("Baton API", cfg.Version)
	hc.CreateHooks = nil // no "$schema" links in response bodies
	hc.OpenAPIPath = "/api/openapi"
	hc.DocsPath = "/api/docs"
	hc.SchemasPath = "/api/schemas"
	hc.RejectUnknownQueryParameters = true
	hc.Info.Description = "Baton runs durable BPMN workflows. Every error is an RFC 9457 problem document (application/problem+json)."
	api := humago.New(mux, hc)
	api.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		next(huma.WithValue(ctx, pathKey, ctx.URL().Path))
	})
	api.UseMiddleware(requireJSON(api))

	securityScheme(api)
	s.registerRuntime(api)
	s.registerSignals(api)
	s.registerLiveOps(api)
	s.registerIncidentGroups(api)
	s.registerInstanceOps(api)
	s.registerRecord(api)
	s.registerTasks(api)
	s.registerStartForm(api)
	s.registerAuth(api)
	s.registerDefinitions(api)
	s.registerDecisions(api)
	s.registerAdvice(api)
	s.registerExternal(api)
	s.registerExternalBatch(api)
	s.registerHealth(api)
	s.registerEvents(api, mux)
	mux.HandleFunc("POST "+hooksPrefix+"{path...}", s.serveHook)
	mux.HandleFunc(hooksPrefix, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeProblem(w, r, newProblem(http.StatusMethodNotAllowed, "a webhook takes POST only"))
	})
	cfg.Runner.AddDeployCheck(s.checkHooks)
	jsonOnlyWithRawBody(api)
	mux.HandleFunc("/", s.notFound)
	return tracing.Extract(s.authenticate(s.idempotent(api, mux)))
}

// handle registers a huma operation whose errors go through toProblem.
func handle[I, O any](s *server, api huma.API, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = s.cfg.MaxBodyBytes
	}
	// huma answers 413 for a body that reaches MaxBodyBytes; a body of
	// exactly the limit is allowed.
	op.MaxBodyBytes++
	need := roleFor(op.OperationID, op.Method)
	describeRole(&op, need)
	if need != public {
		op.Middlewares = append(op.Middlewares, s.requireRole(api, need))
		op.Errors = appendStatus(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
	}
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.toProblem(ctx, err)
		}
		return out, nil
	})
}

// appendStatus adds statuses to an operation's documented errors.
func appendStatus(errs []int, statuses ...int) []int {
	for _, st := range statuses {
		if !slices.Contains(errs, st) {
			errs = append(errs, st)
		}
	}
	slices.Sort(errs)
	return errs
}

// notFound answers every path no route matches.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	p := newProblem(http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path+" (the API is described at /api/openapi.json)")
	writeProblem(w, r, p)
}

// writeProblem writes a problem outside huma (plain handlers).
func writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode((*baton.Problem)(p))
}

// page clamps a list limit.
func page(limit int) int {
	if limit <= 0 {
		return defaultPageSize
	}
	return min(limit, maxPageSize)
}

// requireJSON refuses, with 415, a request body sent to a JSON endpoint
// without a JSON Content-Type (application/json or any +json type): huma
// would read a body without one as JSON, and a form or text body is a
// client mistake best named at once. Operations that declare other media
// types (deploying BPMN XML or a multipart upload) check their own.
func requireJSON(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		op := ctx.Operation()
		if op == nil || op.RequestBody == nil || len(op.RequestBody.Content) > 1 || !hasBody(ctx) {
			next(ctx)
			return
		}
		ct := ctx.Header("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			next(ctx)
			return
		}
		var errs []error
		if ct != "" {
			errs = append(errs, fmt.Errorf("unknown content type: %s", ct))
		} else {
			errs = append(errs, fmt.Errorf("no Content-Type header"))
		}
		_ = huma.WriteErr(api, ctx, http.StatusUnsupportedMediaType, "unsupported media type", errs...)
	}
}

// jsonOnlyWithRawBody drops the application/octet-stream body that huma
// documents for an operation whose input also keeps its RawBody (start
// reads it to name a misplaced field): the operation still takes JSON
// only, which its OpenAPI description and requireJSON must both say.
func jsonOnlyWithRawBody(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Post, item.Put, item.Patch} {
			if op == nil || op.RequestBody == nil {
				continue
			}
			c := op.RequestBody.Content
			if _, ok := c["application/json"]; ok && len(c) == 2 {
				delete(c, "application/octet-stream")
			}
		}
	}
}

// hasBody reports whether a request carries a body.
func hasBody(ctx huma.Context) bool {
	cl, te := ctx.Header("Content-Length"), ctx.Header("Transfer-Encoding")
	return (cl != "" && cl != "0") || te != ""
}
