package rest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/webhook"
)

// Inbound webhooks (docs/webhooks.md): POST /hooks/{path} for every path a
// latest deployed workflow version declares in an event.webhook. The
// request carries no bearer token; it is verified by the webhook's own
// HMAC signature or token against a secret the administrator configured
// (Config.WebhookSecrets). A webhook on a top-level start event starts an
// instance under the idempotency of POST /api/runtime/start, keyed by the
// delivery id; one on any other catch delivers the node's message with the
// delivery id as message id, so that a repeat takes effect once.

// hooksPrefix is where webhooks are served.
const hooksPrefix = "/hooks/"

// WebhookObserver counts webhook requests by path and outcome (the
// metrics package's Webhooks).
type WebhookObserver interface {
	WebhookRequest(path, outcome string)
}

// hookRoute is one webhook of a latest deployed version.
type hookRoute struct {
	def     string
	version int
	node    *model.Node
	hook    *model.Webhook
}

// hookRegistry maps paths to routes, rebuilt when the latest versions
// change.
type hookRegistry struct {
	mu     sync.Mutex
	sig    string
	routes map[string]hookRoute
}

// hookRoutes returns the routes of the latest deployed versions.
func (s *server) hookRoutes(ctx context.Context) (map[string]hookRoute, error) {
	rows, err := s.store().Definitions(ctx)
	if err != nil {
		return nil, err
	}
	var sig strings.Builder
	for _, row := range rows {
		fmt.Fprintf(&sig, "%s@%d:%s;", row.ID, row.Version, row.Hash)
	}
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.routes != nil && h.sig == sig.String() {
		return h.routes, nil
	}
	slices.SortFunc(rows, func(a, b store.DefinitionRow) int { return strings.Compare(a.ID, b.ID) })
	routes := map[string]hookRoute{}
	for _, row := range rows {
		if !row.Format.Workflow() {
			continue
		}
		d, _, err := s.r.Definition(ctx, row.ID, row.Version)
		if err != nil {
			s.log.Warn("webhooks: a deployed version does not compile; its hooks are off", "definition", row.ID, "version", row.Version, "err", err)
			continue
		}
		for _, ep := range d.Webhooks() {
			if other, taken := routes[ep.Webhook.Path]; taken {
				s.log.Error("webhooks: two definitions declare the same path; the first keeps it", "path", ep.Webhook.Path,
					"kept", other.def, "ignored", d.ID)
				continue
			}
			routes[ep.Webhook.Path] = hookRoute{def: d.ID, version: row.Version, node: ep.Node, hook: ep.Webhook}
		}
	}
	h.routes, h.sig = routes, sig.String()
	return routes, nil
}

// checkHooks is the runner's deploy check for webhooks: every secret a
// webhook names is configured here, and no path is taken by another
// definition's latest version.
func (s *server) checkHooks(ctx context.Context, d *model.Definition) ([]model.Problem, error) {
	eps := d.Webhooks()
	if len(eps) == 0 {
		return nil, nil
	}
	routes, err := s.hookRoutes(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	var probs []model.Problem
	for _, ep := range eps {
		n, h := ep.Node, ep.Webhook
		if _, ok := s.cfg.WebhookSecrets[h.Auth.Secret]; !ok {
			probs = append(probs, model.Problem{Line: n.Line, NodeID: n.ID, Field: "event.webhook.auth.secret",
				Message: fmt.Sprintf("no webhook secret %q is configured on this server (baton serve --webhook-secrets; docs/webhooks.md)", h.Auth.Secret)})
		}
		if rt, taken := routes[h.Path]; taken && rt.def != d.ID {
			probs = append(probs, model.Problem{Line: n.Line, NodeID: n.ID, Field: "event.webhook.path",
				Message: fmt.Sprintf("path %q is already the webhook of node %q of definition %q", h.Path, rt.node.ID, rt.def)})
		}
	}
	return probs, nil
}

// webhookResult is a webhook's answer.
type webhookResult struct {
	// Outcome is started, correlated or duplicate.
	Outcome      string `json:"outcome"`
	InstanceID   string `json:"instanceId,omitempty"`
	DefinitionID string `json:"definitionId,omitempty"`
	Version      int    `json:"version,omitempty"`
	DeliveryID   string `json:"deliveryId"`
}

// serveHook answers POST /hooks/{path}.
func (s *server) serveHook(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	label, outcome := "(unknown)", "error"
	defer func() {
		if s.cfg.WebhookObserver != nil {
			s.cfg.WebhookObserver.WebhookRequest(label, outcome)
		}
	}()
	ctx := context.WithValue(r.Context(), pathKey, r.URL.Path)
	fail := func(status int, out, format string, args ...any) {
		outcome = out
		writeProblem(w, r, newProblem(status, fmt.Sprintf(format, args...)))
	}
	routes, err := s.hookRoutes(ctx)
	if err != nil {
		writeProblem(w, r, s.toProblem(ctx, err))
		return
	}
	rt, ok := routes[path]
	if !ok {
		fail(http.StatusNotFound, "not_found", "no webhook at %s%s", hooksPrefix, path)
		return
	}
	label = path
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		fail(http.StatusBadRequest, "bad_request", "reading the request body: %v", err)
		return
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		fail(http.StatusRequestEntityTooLarge, "too_large", "the body is larger than %d bytes", s.cfg.MaxBodyBytes)
		return
	}
	a := &rt.hook.Auth
	secret, ok := s.cfg.WebhookSecrets[a.Secret]
	if !ok {
		s.log.Error("webhook secret not configured on this server; request refused", "path", path, "definition", rt.def, "node", rt.node.ID, "secret", a.Secret)
		fail(http.StatusServiceUnavailable, "unconfigured", "this webhook is not configured on this server")
		return
	}
	if err := webhook.Verify(a, secret, r.Header, body, s.r.Clock().Now()); err != nil {
		s.log.Info("webhook request refused", "path", path, "reason", err)
		fail(http.StatusUnauthorized, "unauthorized", "%s", webhook.ErrSignature)
		return
	}
	env := webhook.Env(a, path, r.Header, r.URL.Query(), body)
	in, err := s.mapHook(rt, env, r.Header, body)
	if err != nil {
		fail(http.StatusBadRequest, "bad_request", "%v", err)
		return
	}
	if rt.node.IsWebhookStart() {
		s.startByHook(w, r.WithContext(ctx), rt, in, body, &outcome)
		return
	}
	s.correlateByHook(ctx, w, r, rt, in, &outcome)
}

// hookInput is what a request maps to.
type hookInput struct {
	id, key, businessKey string
	vars                 map[string]any
}

// mapHook evaluates the webhook's expressions; an error names the field.
func (s *server) mapHook(rt hookRoute, env map[string]any, h http.Header, body []byte) (hookInput, error) {
	now := s.r.Clock().Now()
	eval := func(field string) (any, bool, error) {
		p := rt.node.Expr("webhook:" + field)
		if p == nil {
			return nil, false, nil
		}
		v, err := p.EvalAt(env, now)
		if err != nil {
			return nil, true, fmt.Errorf("event.webhook.%s of node %q: %v", field, rt.node.ID, err)
		}
		switch v.(type) {
		case []any:
			return nil, true, fmt.Errorf("event.webhook.%s of node %q: the expression gave a list", field, rt.node.ID)
		case map[string]any:
			if field != "variables" {
				return nil, true, fmt.Errorf("event.webhook.%s of node %q: the expression gave an object, want text", field, rt.node.ID)
			}
		}
		return v, true, nil
	}
	in := hookInput{key: rt.hook.CorrelationKey, businessKey: rt.hook.BusinessKey}
	if v, ok, err := eval("correlationKey"); err != nil {
		return in, err
	} else if ok {
		in.key = model.KeyText(v)
	}
	if v, ok, err := eval("businessKey"); err != nil {
		return in, err
	} else if ok {
		in.businessKey = model.KeyText(v)
	}
	if v, ok, err := eval("variables"); err != nil {
		return in, err
	} else if ok {
		obj, isObj := v.(map[string]any)
		if !isObj && v != nil {
			return in, fmt.Errorf("event.webhook.variables of node %q: expression %q gave %T, want an object", rt.node.ID, rt.hook.Variables, v)
		}
		in.vars = obj
	} else if obj, isObj := env["body"].(map[string]any); isObj {
		in.vars = obj
	}
	if v, ok, err := eval("messageId"); err != nil {
		return in, err
	} else if ok {
		in.id = model.KeyText(v)
		if in.id == "" {
			return in, fmt.Errorf("event.webhook.messageId of node %q: expression %q gave no id", rt.node.ID, rt.hook.MessageID)
		}
	}
	if in.id == "" {
		in.id = strings.TrimSpace(h.Get(IdempotencyHeader))
	}
	if in.id == "" {
		sum := sha256.Sum256(body)
		in.id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return in, nil
}

// startByHook starts an instance at the webhook's start event under the
// idempotency of the start API: the delivery id is the key, the webhook's
// path the caller, so a repeat answers with the same instance.
func (s *server) startByHook(w http.ResponseWriter, r *http.Request, rt hookRoute, in hookInput, body []byte, outcome *string) {
	key := in.id
	if _, err := parseIdempotencyKey([]string{key}); err != nil {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	*outcome = "duplicate" // unless the handler below runs
	r.Body = io.NopCloser(bytes.NewReader(body))
	start := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		idem := idempotencyFrom(ctx)
		res := webhookResult{Outcome: "started", DefinitionID: rt.def, Version: rt.version, DeliveryID: in.id}
		if idem.instanceID != "" {
			// Started under this delivery before; its answer was lost.
			idem.replayed = true
			*outcome, res.Outcome, res.InstanceID = "duplicate", "duplicate", idem.instanceID
			writeHookJSON(w, http.StatusOK, res)
			return
		}
		st, _, err := s.r.StartInstance(ctx, runner.StartRequest{DefinitionID: rt.def, Version: rt.version, StartNode: rt.node.ID,
			Variables: in.vars, BusinessKey: in.businessKey, Actor: "webhook " + rt.hook.Path, Idempotency: &idem.claim})
		if err != nil {
			var inUse *runner.BusinessKeyInUseError
			if errors.As(err, &inUse) {
				*outcome = "conflict"
				writeProblem(w, r, newProblem(http.StatusConflict, inUse.Error()))
				return
			}
			*outcome = "error"
			writeProblem(w, r, s.toProblem(ctx, fmt.Errorf("start %s by webhook: %w", rt.def, err)))
			return
		}
		*outcome, res.InstanceID = "started", st.InstanceID
		writeHookJSON(w, http.StatusCreated, res)
	})
	sw := &statusWriter{ResponseWriter: w}
	s.idem.keyed(sw, r, "webhook "+rt.hook.Path, key, body, start)
	if sw.status == http.StatusConflict && *outcome == "duplicate" {
		*outcome = "conflict" // the id came with another request
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// correlateByHook delivers the node's message, exactly once per delivery
// id (the message id, as broker sources do).
func (s *server) correlateByHook(ctx context.Context, w http.ResponseWriter, r *http.Request, rt hookRoute, in hookInput, outcome *string) {
	name := rt.node.MessageName()
	var ttl time.Duration
	if rt.hook.TimeToLive != "" {
		ttl, _ = model.ParseDuration(rt.hook.TimeToLive) // checked at deploy
	}
	st, buf, err := s.r.PublishMessage(ctx, runner.Message{Name: name, Key: in.key, ID: "webhook:" + rt.hook.Path + ":" + in.id,
		Variables: in.vars, TTL: ttl, Actor: "webhook " + rt.hook.Path})
	res := webhookResult{Outcome: "correlated", DeliveryID: in.id}
	switch {
	case err == nil && buf != nil:
		*outcome, res.Outcome = "buffered", "buffered"
		writeHookJSON(w, http.StatusAccepted, res)
	case err == nil:
		*outcome, res.InstanceID = "correlated", st.InstanceID
		writeHookJSON(w, http.StatusOK, res)
	case errors.Is(err, store.ErrConflict):
		*outcome, res.Outcome = "duplicate", "duplicate"
		w.Header().Set(ReplayedHeader, "true")
		writeHookJSON(w, http.StatusOK, res)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, engine.ErrNoSubscription):
		*outcome = "no_receiver"
		detail := fmt.Sprintf("no instance waits for message %q", name)
		if in.key != "" {
			detail += fmt.Sprintf(" with correlation key %q", in.key)
		}
		writeProblem(w, r, newProblem(http.StatusNotFound, detail))
	default:
		*outcome = "error"
		writeProblem(w, r, s.toProblem(ctx, fmt.Errorf("deliver message %q by webhook: %w", name, err)))
	}
}

func writeHookJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
