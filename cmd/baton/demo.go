package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// demoEnv names the environment variables the examples' HTTP service tasks
// use for their endpoints ({{env.PAYMENTS_URL}}/payouts ...). Under --dev,
// each one that the operator did not set points at the demo service.
var demoEnv = []string{"PAYMENTS_URL", "WAREHOUSE_URL", "ORDERS_URL"}

// demoService stands in for the outside services the examples call —
// payments, the warehouse, the order system — so that every example can
// reach its end under `baton serve --dev` (and `make run`) with nothing
// else running. It listens on 127.0.0.1 only, answers at once, remembers
// what it was sent (GET /payouts lists the payouts), and answers a
// repeated Idempotency-Key as it answered the first time, as a real
// payment provider does.
//
// It is a demo: it pays, charges and refunds nothing.
type demoService struct {
	url  string
	addr string // host:port of the listener
	srv  *http.Server
	log  *slog.Logger

	mu      sync.Mutex
	calls   map[string][]demoCall // by collection: payouts, charges, refunds, reservations
	answers map[string]demoAnswer // by Idempotency-Key
}

// demoCall is one request the demo service received.
type demoCall struct {
	ID             string         `json:"id"`
	IdempotencyKey string         `json:"idempotencyKey,omitempty"`
	Body           map[string]any `json:"body"`
	Time           time.Time      `json:"time"`
}

type demoAnswer struct {
	status int
	body   []byte
}

// demoCollections are the POST endpoints and the id field of their answer.
var demoCollections = map[string]string{
	"payouts":      "payoutId",
	"charges":      "chargeId",
	"refunds":      "refundId",
	"reservations": "reservationId",
}

// startDemo starts the demo service on 127.0.0.1, points every demoEnv
// name that env does not hold at it, and lets client reach it (and only
// it) on the loopback interface: the egress guard still decides every
// other address. stop shuts it down.
func startDemo(log *slog.Logger, client *http.Client, env map[string]string) (stop func(), err error) {
	var names []string
	for _, n := range demoEnv {
		if _, ok := env[n]; !ok {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return func() {}, nil // every endpoint is configured: no demo
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo payments service: %w", err)
	}
	d := &demoService{addr: ln.Addr().String(), log: log, calls: map[string][]demoCall{}, answers: map[string]demoAnswer{}}
	d.url = "http://" + d.addr
	d.srv = &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo payments service stopped", "err", err)
		}
	}()
	for _, n := range names {
		env[n] = d.url
	}
	client.Transport = d.transport(client.Transport)
	log.Warn("demo payments service on "+d.url+" (--dev only)", "env", strings.Join(names, ","),
		"note", "a stand-in that pays nothing; set these variables to reach real services")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.srv.Shutdown(ctx)
	}, nil
}

// transport sends requests for the demo service's address straight to it
// and every other request through next (the egress guard, which refuses
// loopback addresses unless BATON_EGRESS_ALLOW_LOOPBACK is set).
func (d *demoService) transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	direct := &http.Transport{
		Proxy: nil,
		// Whatever the request says, connect to the demo's own listener.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, d.addr)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return demoTransport{host: d.addr, demo: direct, next: next}
}

type demoTransport struct {
	host       string
	demo, next http.RoundTripper
}

func (t demoTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && req.URL.Host == t.host {
		return t.demo.RoundTrip(req)
	}
	return t.next.RoundTrip(req)
}

// ServeHTTP answers:
//
//	POST /payouts, /charges, /refunds, /reservations   201 {"payoutId": "demo-payout-1"} (chargeId, ...)
//	GET  /payouts, /charges, /refunds, /reservations   200 {"calls": [...]}, what was received
//	GET  /orders/{id}                                  200 a made-up order
//	GET  /                                             200 what this is
func (d *demoService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	kind, rest, _ := strings.Cut(path, "/")
	idField, isCollection := demoCollections[kind]
	switch {
	case path == "" && r.Method == http.MethodGet:
		demoJSON(w, http.StatusOK, map[string]any{
			"service": "Baton demo services (baton serve --dev only): nothing is paid, charged, refunded or reserved",
			"post":    []string{"/payouts", "/charges", "/refunds", "/reservations"},
			"get":     []string{"/payouts", "/charges", "/refunds", "/reservations", "/orders/{id}"},
		})
	case isCollection && rest == "" && r.Method == http.MethodPost:
		d.record(w, r, kind, idField)
	case isCollection && rest == "" && r.Method == http.MethodGet:
		d.mu.Lock()
		calls := append([]demoCall{}, d.calls[kind]...)
		d.mu.Unlock()
		demoJSON(w, http.StatusOK, map[string]any{"calls": calls})
	case kind == "orders" && rest != "" && !strings.Contains(rest, "/") && r.Method == http.MethodGet:
		demoJSON(w, http.StatusOK, map[string]any{
			"orderId": rest, "status": "shipped", "total": 129.9, "currency": "EUR", "paid": true,
			"items": []map[string]any{{"sku": "MUG-01", "qty": 2, "price": 24.95}, {"sku": "TEE-M", "qty": 1, "price": 80}},
		})
	default:
		demoJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("the demo service has no %s /%s", r.Method, path)})
	}
}

// record answers a POST to a collection, once per Idempotency-Key.
func (d *demoService) record(w http.ResponseWriter, r *http.Request, kind, idField string) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		demoJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	body := map[string]any{}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &body); err != nil {
			demoJSON(w, http.StatusBadRequest, map[string]any{"error": "want a JSON object: " + err.Error()})
			return
		}
	}
	key := r.Header.Get("Idempotency-Key")
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.answers[key]; ok && key != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
		return
	}
	call := demoCall{ID: fmt.Sprintf("demo-%s-%d", strings.TrimSuffix(kind, "s"), len(d.calls[kind])+1), IdempotencyKey: key, Body: body, Time: time.Now().UTC()}
	d.calls[kind] = append(d.calls[kind], call)
	// Only the new id: a JSON object answer is merged into the variables.
	out, _ := json.Marshal(map[string]any{idField: call.ID})
	if key != "" {
		d.answers[key] = demoAnswer{status: http.StatusCreated, body: out}
	}
	d.log.Info("demo service: "+strings.TrimSuffix(kind, "s")+" received (nothing real happened)", "id", call.ID, "body", string(data), "idempotencyKey", key)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

func demoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
