package rest

import (
	"bytes"
	"context"
	"crypto/rand"
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

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/store"
)

// Idempotency keys (the IETF draft "The Idempotency-Key HTTP Header
// Field"): a POST that creates or changes something may carry
// Idempotency-Key. The first request with a key claims it in the
// database (per caller) and its answer is stored with it; a repeat with
// the same key and the same request (method, path, caller, canonical body)
// gets that answer again, marked Idempotent-Replayed: true. The same key
// with another request is a 409, and so is a repeat that arrives while the
// first is still running and does not finish within the wait.
//
// A start writes its instance on the key in the transaction that creates
// the instance, so when the answer is lost (the server dies between the
// commit and the answer), the retry takes the key over once its lock ended
// and answers for that instance instead of starting another.

// IdempotencyHeader is the request header; ReplayedHeader marks a
// repeated answer.
const (
	IdempotencyHeader = "Idempotency-Key"
	ReplayedHeader    = "Idempotent-Replayed"
	maxIdempotencyKey = 255
)

// Defaults of Config.IdempotencyTTL and Config.IdempotencyLock.
const (
	DefaultIdempotencyTTL  = 24 * time.Hour
	DefaultIdempotencyLock = 15 * time.Second
)

// idempotentOps are the operations that accept an Idempotency-Key: every
// POST that creates or changes something (docs/api.md lists them). Not
// fetch-and-lock (a long poll whose repeat should lock other tasks),
// extend-lock (a repeat only extends the lock again; it is a worker's hot
// path) and evaluate-decision (changes nothing).
var idempotentOps = []string{
	"start-instance", "complete-task", "correlate-message", "broadcast-signal", "deploy-definition", "recover-instance",
	"cancel-instance", "drain-dead-letters", "resolve-incidents", "set-variables", "apply-advice", "resend-notification",
	"claim-task", "unclaim-task", "delegate-task",
	"complete-external-task", "complete-external-tasks", "fail-external-task", "external-task-bpmn-error",
	"modify-instance", "migrate-instances", "create-batch",
}

// idemRequest is what the middleware tells a handler about the key of its
// request (idempotencyFrom).
type idemRequest struct {
	claim store.IdempotencyClaim
	// instanceID is the instance a start committed under the key before
	// (its answer was lost); the start handler answers for it.
	instanceID string
	// replayed is set by a handler that answered for instanceID.
	replayed bool
}

type idemCtxKey struct{}

// idempotencyFrom returns the key of the request, nil without one.
func idempotencyFrom(ctx context.Context) *idemRequest {
	r, _ := ctx.Value(idemCtxKey{}).(*idemRequest)
	return r
}

// idempotency is the middleware's state.
type idempotency struct {
	s      *server
	st     store.Store
	ops    *http.ServeMux // matches the operations that take a key
	roles  map[string]auth.Role
	maxLen int64

	mu      sync.Mutex
	running map[string]chan struct{} // keys this node works on, closed when answered
}

// idempotent wraps next with the Idempotency-Key handling of the
// operations in idempotentOps, found in api's OpenAPI document, which it
// also documents there.
func (s *server) idempotent(api huma.API, next http.Handler) http.Handler {
	m := &idempotency{s: s, st: s.r.Store(), ops: http.NewServeMux(), roles: map[string]auth.Role{},
		maxLen: max(s.cfg.MaxBodyBytes, s.cfg.MaxDefinitionBytes) + 1, running: map[string]chan struct{}{}}
	s.idem = m
	for path, item := range api.OpenAPI().Paths {
		op := item.Post
		if op == nil || !slices.Contains(idempotentOps, op.OperationID) {
			continue
		}
		pattern := http.MethodPost + " " + path
		m.ops.Handle(pattern, http.NotFoundHandler())
		m.roles[pattern] = roleFor(op.OperationID, http.MethodPost)
		documentIdempotency(op)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := m.ops.Handler(r); pattern != "" && len(r.Header.Values(IdempotencyHeader)) > 0 {
			m.serve(w, r, pattern, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func documentIdempotency(op *huma.Operation) {
	op.Parameters = append(op.Parameters, &huma.Param{
		Name: IdempotencyHeader, In: "header", Schema: &huma.Schema{Type: "string", MinLength: new(1), MaxLength: new(maxIdempotencyKey)},
		Description: "Makes the request safe to retry: a repeat with the same key and the same request gets the first success or conflict " +
			"(marked " + ReplayedHeader + ": true) instead of doing the work again, for 24 hours by default. Keys are per caller; the same key " +
			"with another request, or while the first is still running, is a 409. See docs/api.md, Idempotent requests.",
	})
	op.Errors = appendStatus(op.Errors, http.StatusConflict)
	if _, ok := op.Responses["409"]; !ok {
		for _, like := range []string{"400", "422", "404", "default"} {
			if resp := op.Responses[like]; resp != nil {
				c := *resp
				c.Description = http.StatusText(http.StatusConflict)
				op.Responses["409"] = &c
				break
			}
		}
	}
}

func (m *idempotency) serve(w http.ResponseWriter, r *http.Request, pattern string, next http.Handler) {
	fail := func(status int, format string, args ...any) {
		writeProblem(w, r, newProblem(status, fmt.Sprintf(format, args...)))
	}
	key, err := parseIdempotencyKey(r.Header.Values(IdempotencyHeader))
	if err != nil {
		fail(http.StatusBadRequest, "%s: %v", IdempotencyHeader, err)
		return
	}
	ctx := r.Context()
	if auth.Authorize(ctx, m.roles[pattern]) != nil {
		// Refused anyway: the operation says why, and nothing is claimed.
		next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, m.maxLen))
	if err != nil {
		fail(http.StatusBadRequest, "reading the request body: %v", err)
		return
	}
	if int64(len(body)) >= m.maxLen {
		// Too large for any operation: it refuses the request itself.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		next.ServeHTTP(w, r)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	m.keyed(w, r, identity(ctx).User, key, body, next)
}

// keyed serves a request under key for caller (body is its body, already
// read): the first claims the key and runs next, a repeat gets the stored
// answer. Webhooks (webhooks.go) come here with their delivery id.
func (m *idempotency) keyed(w http.ResponseWriter, r *http.Request, caller, key string, body []byte, next http.Handler) {
	fail := func(status int, format string, args ...any) {
		writeProblem(w, r, newProblem(status, fmt.Sprintf(format, args...)))
	}
	ctx := r.Context()
	hash := requestHash(r, caller, body)
	clk := m.s.r.Clock() // for the stored times; waiting is in real time
	wait := time.Now().Add(m.s.cfg.IdempotencyLock + time.Second)
	claim := func() (store.IdempotencyRow, bool, string, error) {
		now := clk.Now()
		row := store.IdempotencyRow{Caller: caller, Key: key, RequestHash: hash, Method: r.Method, Path: r.URL.Path,
			Token: newToken(), LockedUntil: now.Add(m.s.cfg.IdempotencyLock), CreatedAt: now, ExpiresAt: now.Add(m.s.cfg.IdempotencyTTL)}
		got, claimed, err := m.st.ClaimIdempotencyKey(ctx, row, now)
		return got, claimed, row.Token, err
	}
	got, claimed, token, err := claim()
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		switch {
		case err != nil:
			writeProblem(w, r, m.s.toProblem(context.WithValue(ctx, pathKey, r.URL.Path), err))
			return
		case got.RequestHash != hash:
			fail(http.StatusConflict, "%s %q was already used for another request (%s %s, or another body) in the last %s; send a new key for a new request",
				IdempotencyHeader, key, got.Method, got.Path, m.s.cfg.IdempotencyTTL)
			return
		case claimed:
			m.run(w, r, next, &idemRequest{claim: store.IdempotencyClaim{Caller: caller, Key: key, Token: token}, instanceID: got.InstanceID})
			return
		case got.Status != 0:
			replayAnswer(w, got)
			return
		}
		// Another request with the key is running: wait for its answer,
		// or for its lock to end (its server died) to take it over.
		if !time.Now().Before(wait) {
			w.Header().Set("Retry-After", "1")
			fail(http.StatusConflict, "a request with %s %q is still in progress; retry later to get its answer", IdempotencyHeader, key)
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			fail(http.StatusServiceUnavailable, "the request was cancelled while a request with %s %q was in progress", IdempotencyHeader, key)
			return
		case <-m.done(caller, key):
			t.Stop()
		case <-t.C:
		}
		// Reading is enough until the key is answered, released, expired
		// or its lock ended; only then is it claimed again.
		got, err = m.st.IdempotencyKey(ctx, caller, key)
		now := clk.Now()
		if errors.Is(err, store.ErrNotFound) || err == nil && got.Status == 0 && (!got.LockedUntil.After(now) || !got.ExpiresAt.After(now)) {
			got, claimed, token, err = claim()
		}
	}
}

// run serves a request that holds the claim of its key and stores the
// answer with the key before sending it, so that the answer a client
// receives is always the one a repeat gets. An answer that a repeat
// should not get (a server error, a refusal that may pass later) releases
// the key instead.
func (m *idempotency) run(w http.ResponseWriter, r *http.Request, next http.Handler, req *idemRequest) {
	c := req.claim
	finished := m.begin(c.Caller, c.Key)
	// The outcome is written even when the client has gone: a retry must
	// find it.
	bg := context.WithoutCancel(r.Context())
	rec := &recorder{header: http.Header{}}
	answered := false
	defer func() {
		if !answered {
			if err := m.st.ReleaseIdempotencyKey(bg, c.Caller, c.Key, c.Token); err != nil {
				m.s.log.Error("release idempotency key", "key", c.Key, "err", err)
			}
		}
		finished()
	}()
	next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), idemCtxKey{}, req)))
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if remembered(rec.status) {
		err := m.st.AnswerIdempotencyKey(bg, c.Caller, c.Key, c.Token, rec.status, rec.header.Get("Content-Type"), rec.body.Bytes())
		if err != nil {
			m.s.log.Error("store the answer of an idempotency key", "key", c.Key, "err", err)
		}
		answered = err == nil
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	if req.replayed {
		h.Set(ReplayedHeader, "true")
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// remembered reports whether an answer is stored for repeats: a success
// (the work is done) or a 409 (the request lost to the state it would
// change: a repeat must not win later). Any other answer changed nothing
// (a refused or invalid request, a server error), so the key is released
// and a repeat, perhaps corrected, runs again.
func remembered(status int) bool {
	return status >= 200 && status < 300 || status == http.StatusConflict
}

// replayAnswer sends a stored answer again.
func replayAnswer(w http.ResponseWriter, row store.IdempotencyRow) {
	if row.ContentType != "" {
		w.Header().Set("Content-Type", row.ContentType)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set(ReplayedHeader, "true")
	w.WriteHeader(row.Status)
	_, _ = w.Write(row.Body)
}

// begin marks a key as worked on by this node; the returned func ends it
// and wakes the requests waiting for it here.
func (m *idempotency) begin(caller, key string) func() {
	k := caller + "\x00" + key
	ch := make(chan struct{})
	m.mu.Lock()
	m.running[k] = ch
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		if m.running[k] == ch {
			delete(m.running, k)
		}
		m.mu.Unlock()
		close(ch)
	}
}

// done returns a channel closed when this node finishes the key (nil when
// it does not work on it: the waiter polls).
func (m *idempotency) done(caller, key string) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running[caller+"\x00"+key]
}

// parseIdempotencyKey reads the header's one value: a structured-field
// string ("...") as the draft has it, or the bare key.
func parseIdempotencyKey(values []string) (string, error) {
	if len(values) != 1 {
		return "", errors.New("send the header once")
	}
	k := strings.TrimSpace(values[0])
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	switch {
	case k == "":
		return "", errors.New("the key is empty")
	case len(k) > maxIdempotencyKey:
		return "", fmt.Errorf("the key has %d characters; at most %d are allowed", len(k), maxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "", fmt.Errorf("character %d of the key is not printable ASCII (a UUID makes a good key)", i+1)
		}
	}
	return k, nil
}

// requestHash identifies a request for its key: method, path and query,
// caller, and the body (JSON in canonical form: keys sorted, no spaces, so
// that a client that re-encodes the same request still matches).
func requestHash(r *http.Request, caller string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s?%s\n%s\n", r.Method, r.URL.Path, r.URL.RawQuery, caller)
	h.Write(canonicalJSON(body))
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON returns a JSON document in canonical form, other bodies as
// they are.
func canonicalJSON(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recorder keeps an answer until it is stored with its key.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *recorder) Header() http.Header { return c.header }

func (c *recorder) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *recorder) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
