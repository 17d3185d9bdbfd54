package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/egress"
)

// TestDemoService: the demo service fills in only the endpoints that are
// not configured, answers a repeated Idempotency-Key once, lists what it
// received, and is the only loopback address the service task client may
// reach.
func TestDemoService(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") }))
	defer other.Close()

	client := egress.Policy{}.Client(10 * time.Second) // loopback refused, as by default
	env := map[string]string{"ORDERS_URL": "https://orders.example.com"}
	stop, err := startDemo(slog.New(slog.NewTextHandler(io.Discard, nil)), client, env)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	demo := env["PAYMENTS_URL"]
	if !strings.HasPrefix(demo, "http://127.0.0.1:") || env["WAREHOUSE_URL"] != demo || env["ORDERS_URL"] != "https://orders.example.com" {
		t.Fatalf("env = %v, want PAYMENTS_URL and WAREHOUSE_URL on the demo and ORDERS_URL kept", env)
	}

	post := func(key string) string {
		req, _ := http.NewRequest(http.MethodPost, demo+"/payouts", strings.NewReader(`{"amount": 500}`))
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /payouts = %d %s", resp.StatusCode, body)
		}
		return string(body)
	}
	first, again, second := post("k1"), post("k1"), post("k2")
	if first != `{"payoutId":"demo-payout-1"}` || again != first || second != `{"payoutId":"demo-payout-2"}` {
		t.Errorf("payouts answered %s, %s, %s; want the first answer again for a repeated key", first, again, second)
	}
	resp, err := client.Get(demo + "/payouts")
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Count(string(list), `"idempotencyKey"`) != 2 || !strings.Contains(string(list), `"amount":500`) {
		t.Errorf("GET /payouts = %s, want the two payouts", list)
	}

	// Any other loopback address is still refused by the egress guard.
	_, err = client.Get(other.URL)
	var denied *egress.DeniedError
	if !errors.As(err, &denied) || denied.Reason != egress.ReasonLoopback {
		t.Errorf("GET %s = %v, want the egress guard's loopback refusal", other.URL, err)
	}
}
