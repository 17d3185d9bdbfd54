package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/testkit"
	"github.com/batonhq/baton/internal/webhook"
	"github.com/batonhq/baton/test/proc"
)

// hookWorkflow starts by a signed webhook (GitHub style: HMAC-SHA256 of the
// body, the delivery id in a header) and waits in a receive task for a
// second webhook verified by a token, correlated by the order id.
const hookWorkflow = `{"id": "orders", "nodes": [
 {"id": "placed", "type": "startEvent", "event": {"kind": "message", "name": "order-placed",
  "webhook": {"path": "shop/orders", "auth": {"kind": "hmac", "secret": "shop", "header": "X-Shop-Signature", "prefix": "sha256="},
   "businessKey": "=body.orderId", "variables": "={orderId: body.orderId, total: body.total, via: query.via}", "messageId": "=get value(headers, \"x-shop-delivery\")"}}},
 {"id": "paid", "type": "receiveTask", "event": {"name": "order-paid", "correlationKey": "=orderId",
  "webhook": {"path": "pay/paid", "auth": {"kind": "token", "secret": "pay", "prefix": "Bearer "}, "correlationKey": "=body.order", "timeToLive": "PT1H"}}},
 {"id": "done", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "placed", "target": "paid"}, {"id": "f2", "source": "paid", "target": "done"}]}`

var (
	shopSecret = []byte("shop-secret-0123456789")
	payToken   = []byte("pay-token-0123456789abc")
	shopAuth   = &model.WebhookAuth{Kind: "hmac", Secret: "shop", Header: "X-Shop-Signature", Prefix: "sha256="}
)

type hookCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *hookCounts) WebhookRequest(path, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[path+" "+outcome]++
}

func (c *hookCounts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// TestWebhooks runs the webhooks through the real API server, on SQLite
// and, when BATON_TEST_POSTGRES is set, on PostgreSQL.
func TestWebhooks(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { webhooks(t, testkit.SQLite(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(context.Background(), proc.FreshSchemaURL(t, url, "rest_hooks"))
		if err != nil {
			t.Fatal(err)
		}
		webhooks(t, st)
	})
}

func hookServer(t *testing.T, st store.Store, obs rest.WebhookObserver) *batontest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(&testkit.Buffer{}, nil))
	r := runner.New(runner.Config{Store: st, Logger: log, PollInterval: 50 * time.Millisecond, Workers: 2})
	if err := r.Start(context.Background()); err != nil {
		st.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	hs := httptest.NewServer(rest.New(rest.Config{Runner: r, Logger: log, Auth: batontest.Verifier(), Done: done, MaxBodyBytes: 4096,
		WebhookSecrets: map[string][]byte{"shop": shopSecret, "pay": payToken}, WebhookObserver: obs}))
	t.Cleanup(func() {
		close(done)
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop runner: %v", err)
		}
		st.Close()
	})
	return &batontest.Server{URL: hs.URL, Runner: r, Store: st, Client: hs.Client(), HTTP: hs, Token: batontest.AdminToken}
}

// hook posts body to /hooks/path with the given headers and no bearer
// token.
func hook(t *testing.T, srv *batontest.Server, path string, body []byte, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/hooks/"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

type hookAnswer struct {
	Outcome, InstanceID, DefinitionID, DeliveryID string
	Detail                                        string
}

func hookAnswerOf(t *testing.T, data []byte) hookAnswer {
	t.Helper()
	var a hookAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("answer %s: %v", data, err)
	}
	return a
}

func webhooks(t *testing.T, st store.Store) {
	counts := &hookCounts{n: map[string]int{}}
	srv := hookServer(t, st, counts)
	srv.MustDo(t, http.MethodPost, "/api/definitions", json.RawMessage(hookWorkflow), nil, http.StatusCreated)
	count := func() int {
		n, err := st.CountInstances(context.Background(), store.InstanceFilter{DefinitionID: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	body := []byte(`{"orderId": "o-1", "total": 42}`)
	sig := webhook.Sign(shopAuth, shopSecret, "", body)
	code, _, data := hook(t, srv, "shop/orders?via=web", body, "X-Shop-Signature", sig, "X-Shop-Delivery", "d-1")
	first := hookAnswerOf(t, data)
	if code != http.StatusCreated || first.Outcome != "started" || first.InstanceID == "" || first.DeliveryID != "d-1" {
		t.Fatalf("signed start = %d %s, want 201 started", code, data)
	}
	inst := srv.Instance(t, first.InstanceID)
	if inst.BusinessKey != "o-1" || inst.ProcessData["total"] != float64(42) || inst.ProcessData["via"] != "web" || inst.Status != baton.StatusWaiting {
		t.Errorf("started instance = %+v, want business key o-1, total 42, via web, waiting", inst)
	}

	// The sender delivers the same again (it missed the answer): the same
	// instance, marked replayed, and still one instance.
	for range 3 {
		code, h, data := hook(t, srv, "shop/orders?via=web", body, "X-Shop-Signature", sig, "X-Shop-Delivery", "d-1")
		if a := hookAnswerOf(t, data); code != http.StatusCreated || a.InstanceID != first.InstanceID || h.Get(rest.ReplayedHeader) != "true" {
			t.Errorf("redelivery = %d %s (replayed %q), want 201 with instance %s, replayed", code, data, h.Get(rest.ReplayedHeader), first.InstanceID)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("after 4 deliveries of d-1: %d instances, want 1", n)
	}
	// Eight copies of one delivery at once: one instance, eight answers
	// naming it.
	burst := []byte(`{"orderId": "o-3", "total": 3}`)
	burstSig := webhook.Sign(shopAuth, shopSecret, "", burst)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			code, _, data := hook(t, srv, "shop/orders", burst, "X-Shop-Signature", burstSig, "X-Shop-Delivery", "d-burst")
			if code == http.StatusCreated {
				ids[i] = hookAnswerOf(t, data).InstanceID
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Errorf("concurrent copies of one delivery answered instances %v, want one instance in every answer", ids)
			break
		}
	}
	if n := count(); n != 2 {
		t.Errorf("after the burst: %d instances, want 2", n)
	}
	// The same delivery id with another body is a conflict, not a start.
	other := []byte(`{"orderId": "o-9", "total": 1}`)
	if code, _, data := hook(t, srv, "shop/orders?via=web", other, "X-Shop-Signature", webhook.Sign(shopAuth, shopSecret, "", other), "X-Shop-Delivery", "d-1"); code != http.StatusConflict {
		t.Errorf("d-1 with another body = %d %s, want 409", code, data)
	}

	// Bad signatures: 401 that says "signature" and nothing more; nothing
	// starts.
	for name, hdr := range map[string][]string{
		"wrong signature": {"X-Shop-Signature", webhook.Sign(shopAuth, []byte("not the shop secret at all"), "", body), "X-Shop-Delivery", "d-2"},
		"no signature":    {"X-Shop-Delivery", "d-2"},
		"bearer token":    {"Authorization", "Bearer " + batontest.AdminToken, "X-Shop-Delivery", "d-2"},
	} {
		code, _, data := hook(t, srv, "shop/orders", body, hdr...)
		if a := hookAnswerOf(t, data); code != http.StatusUnauthorized || a.Detail != "invalid signature" {
			t.Errorf("%s: %d %s, want 401 invalid signature", name, code, data)
		}
	}
	// The signature covers the raw body: the same JSON re-encoded fails.
	if code, _, data := hook(t, srv, "shop/orders", []byte(`{"orderId":"o-1","total":42}`), "X-Shop-Signature", sig, "X-Shop-Delivery", "d-3"); code != http.StatusUnauthorized {
		t.Errorf("re-encoded body = %d %s, want 401", code, data)
	}
	// An expression that fails: 400 naming the field; nothing starts.
	if code, _, data := hook(t, srv, "shop/orders", body, "X-Shop-Signature", sig); code != http.StatusBadRequest || !strings.Contains(hookAnswerOf(t, data).Detail, "event.webhook.messageId") {
		t.Errorf("no delivery header = %d %s, want 400 naming event.webhook.messageId", code, data)
	}
	big := []byte(`{"orderId": "` + strings.Repeat("x", 5000) + `"}`)
	if code, _, data := hook(t, srv, "shop/orders", big, "X-Shop-Signature", webhook.Sign(shopAuth, shopSecret, "", big), "X-Shop-Delivery", "d-4"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit = %d %s, want 413", code, data)
	}
	if n := count(); n != 2 {
		t.Errorf("after the refused requests: %d instances, want 2", n)
	}
	if code, _, data := hook(t, srv, "shop/nothing", body); code != http.StatusNotFound {
		t.Errorf("unknown path = %d %s, want 404", code, data)
	}
	if resp, data := srv.Do(t, http.MethodGet, "/hooks/shop/orders", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET a hook = %d %s, want 405", resp.StatusCode, data)
	}

	// Correlate: a token-verified webhook delivers order-paid to o-1.
	paid := []byte(`{"order": "o-1", "amount": 42}`)
	if code, _, data := hook(t, srv, "pay/paid", paid, "Authorization", "Bearer wrong-token-0123456789", "Idempotency-Key", "p-1"); code != http.StatusUnauthorized {
		t.Errorf("wrong token = %d %s, want 401", code, data)
	}
	// A payment that arrives before its order is kept (timeToLive), and
	// the order's instance takes it when it reaches the receive task.
	early := []byte(`{"order": "o-2", "amount": 7}`)
	if code, _, data := hook(t, srv, "pay/paid", early, "Authorization", "Bearer "+string(payToken), "Idempotency-Key", "p-0"); code != http.StatusAccepted || hookAnswerOf(t, data).Outcome != "buffered" {
		t.Errorf("payment before its order = %d %s, want 202 buffered", code, data)
	}
	o2 := []byte(`{"orderId": "o-2", "total": 7}`)
	code, _, data = hook(t, srv, "shop/orders", o2, "X-Shop-Signature", webhook.Sign(shopAuth, shopSecret, "", o2), "X-Shop-Delivery", "d-5")
	if a := hookAnswerOf(t, data); code != http.StatusCreated {
		t.Errorf("order o-2 = %d %s, want 201", code, data)
	} else {
		srv.WaitStatus(t, a.InstanceID, baton.StatusCompleted, 5*time.Second)
	}
	code, _, data = hook(t, srv, "pay/paid", paid, "Authorization", "Bearer "+string(payToken), "Idempotency-Key", "p-1")
	if a := hookAnswerOf(t, data); code != http.StatusOK || a.Outcome != "correlated" || a.InstanceID != first.InstanceID {
		t.Fatalf("payment = %d %s, want 200 correlated to %s", code, data, first.InstanceID)
	}
	done := srv.WaitStatus(t, first.InstanceID, baton.StatusCompleted, 5*time.Second)
	if done.ProcessData["amount"] != float64(42) {
		t.Errorf("completed instance variables = %v, want the payment's amount", done.ProcessData)
	}
	if done.ProcessData["order"] != "o-1" {
		t.Errorf("the message's variables did not reach the instance: %v", done.ProcessData)
	}
	code, h, data := hook(t, srv, "pay/paid", paid, "Authorization", "Bearer "+string(payToken), "Idempotency-Key", "p-1")
	if a := hookAnswerOf(t, data); code != http.StatusOK || a.Outcome != "duplicate" || h.Get(rest.ReplayedHeader) != "true" {
		t.Errorf("the payment again = %d %s, want 200 duplicate", code, data)
	}

	// Deploy checks: an unknown secret, and a path another definition has.
	clash := strings.NewReplacer(`"id": "orders"`, `"id": "clash"`, `"secret": "pay"`, `"secret": "nope"`).Replace(hookWorkflow)
	resp, data := srv.Do(t, http.MethodPost, "/api/definitions", json.RawMessage(clash))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(data), `already the webhook of node \"placed\" of definition \"orders\"`) ||
		!strings.Contains(string(data), `no webhook secret \"nope\"`) || !strings.Contains(string(data), "paid") {
		t.Errorf("deploy a clashing definition = %d %s, want 422 naming both problems and their nodes", resp.StatusCode, data)
	}
	// A new version of the same definition keeps its paths.
	v2 := strings.Replace(hookWorkflow, `"total: body.total`, `"total: body.total * 1`, 1)
	v2 = strings.Replace(v2, `total: body.total,`, `total: body.total * 1,`, 1)
	srv.MustDo(t, http.MethodPost, "/api/definitions", json.RawMessage(v2), nil, http.StatusCreated)

	for k, want := range map[string]int{"shop/orders started": 3, "shop/orders duplicate": 10, "shop/orders conflict": 1, "shop/orders unauthorized": 4,
		"shop/orders bad_request": 1, "shop/orders too_large": 1, "(unknown) not_found": 1, "pay/paid unauthorized": 1, "pay/paid buffered": 1,
		"pay/paid correlated": 1, "pay/paid duplicate": 1} {
		if got := counts.get(k); got != want {
			t.Errorf("webhook requests %q = %d, want %d", k, got, want)
		}
	}
}
