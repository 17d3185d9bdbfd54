package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/batonhq/baton/internal/engine"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/notify/webhook"
)

const secret = "whsec_test_0123456789"

// delivery is one request the receiver accepted.
type delivery struct {
	header  http.Header
	body    []byte
	payload webhook.Payload
}

// receiver is a webhook endpoint that verifies signatures with Verify
// and drops repeated idempotency keys, as the docs tell receivers to.
type receiver struct {
	t   *testing.T
	now func() time.Time

	mu        sync.Mutex
	accepted  []delivery
	seen      map[string]bool
	repeats   int
	rejected  []error
	status    int           // answer for accepted requests (default 200)
	failFirst int           // answer 500 to this many requests first
	delay     time.Duration // sleep before answering
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rc.delay > 0 {
		select {
		case <-time.After(rc.delay):
		case <-r.Context().Done():
			return
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.failFirst > 0 {
		rc.failFirst--
		http.Error(w, "temporarily broken", http.StatusInternalServerError)
		return
	}
	if err := webhook.Verify(secret, r.Header, body, rc.now(), time.Minute); err != nil {
		rc.rejected = append(rc.rejected, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	key := r.Header.Get(webhook.HeaderIdempotencyKey)
	if rc.seen[key] {
		rc.repeats++
		w.WriteHeader(http.StatusOK) // already processed: acknowledge, do nothing
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.t.Errorf("payload %s: %v", body, err)
	}
	if rc.seen == nil {
		rc.seen = map[string]bool{}
	}
	rc.seen[key] = true
	rc.accepted = append(rc.accepted, delivery{header: r.Header.Clone(), body: body, payload: p})
	if rc.status != 0 {
		w.WriteHeader(rc.status)
	}
}

func (rc *receiver) snapshot() ([]delivery, int, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.accepted...), rc.repeats, append([]error(nil), rc.rejected...)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// client is the egress-guarded client the sender uses in production,
// opened for loopback so that it can reach the local test servers.
func client(timeout time.Duration) *http.Client {
	return egress.Policy{AllowLoopback: true}.Client(timeout)
}

func newSender(t *testing.T, now func() time.Time, timeout time.Duration) *webhook.Sender {
	t.Helper()
	s, err := webhook.New(webhook.Config{Secret: secret, Client: client(timeout), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func msg(url, key string) notify.Message {
	return notify.Message{
		Channel: notify.ChannelWebhook, To: []string{url}, Event: string(engine.EventIncidentOpened),
		InstanceID: "inst-1", IdempotencyKey: key, Time: t0.Add(-time.Second),
		Data: map[string]any{"nodeId": "pay", "message": "payment service down"},
	}
}

func TestSignedDeliveryAndIdempotency(t *testing.T) {
	rc := &receiver{t: t, now: func() time.Time { return t0 }}
	srv := serve(t, rc)
	s := newSender(t, func() time.Time { return t0 }, 5*time.Second)

	for range 2 { // the second send is a retry of the same delivery
		if err := s.Send(context.Background(), msg(srv.URL+"/hooks/baton", "baton-job-1")); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if err := s.Send(context.Background(), msg(srv.URL+"/hooks/baton", "baton-job-2")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, repeats, rejected := rc.snapshot()
	if len(rejected) != 0 {
		t.Fatalf("receiver rejected %v", rejected)
	}
	if len(got) != 2 || repeats != 1 {
		t.Fatalf("accepted %d, repeats %d; want 2 and 1", len(got), repeats)
	}
	d := got[0]
	if d.header.Get("Content-Type") != "application/json" || d.header.Get(webhook.HeaderTimestamp) != strconv.FormatInt(t0.Unix(), 10) ||
		d.header.Get(webhook.HeaderIdempotencyKey) != "baton-job-1" {
		t.Errorf("headers = %v", d.header)
	}
	if want := webhook.Sign(secret, t0, d.body); d.header.Get(webhook.HeaderSignature) != want {
		t.Errorf("signature %q, want %q", d.header.Get(webhook.HeaderSignature), want)
	}
	p := d.payload
	if p.Event != "incident.opened" || p.InstanceID != "inst-1" || !p.Time.Equal(t0.Add(-time.Second)) || p.Data["message"] != "payment service down" {
		t.Errorf("payload = %+v", p)
	}
	var raw map[string]any
	_ = json.Unmarshal(d.body, &raw)
	for _, k := range []string{"event", "instanceId", "time", "data"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("body %s lacks %q", d.body, k)
		}
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"instance.completed","instanceId":"i","time":"2026-03-01T12:00:00Z","data":{}}`)
	h := http.Header{}
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(t0.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(secret, t0, body))

	if err := webhook.Verify(secret, h, body, t0.Add(30*time.Second), time.Minute); err != nil {
		t.Errorf("Verify(good) = %v", err)
	}
	cases := []struct {
		name string
		mod  func(h http.Header) (http.Header, []byte, string, time.Time)
		want error
	}{
		{"tampered body", func(h http.Header) (http.Header, []byte, string, time.Time) {
			return h, []byte(`{"event":"instance.completed","instanceId":"j"}`), secret, t0
		}, webhook.ErrBadSignature},
		{"wrong secret", func(h http.Header) (http.Header, []byte, string, time.Time) {
			return h, body, "other", t0
		}, webhook.ErrBadSignature},
		{"timestamp changed", func(h http.Header) (http.Header, []byte, string, time.Time) {
			h = h.Clone()
			h.Set(webhook.HeaderTimestamp, strconv.FormatInt(t0.Unix()+1, 10))
			return h, body, secret, t0
		}, webhook.ErrBadSignature},
		{"replayed later", func(h http.Header) (http.Header, []byte, string, time.Time) {
			return h, body, secret, t0.Add(2 * time.Minute)
		}, webhook.ErrStaleTimestamp},
		{"from the future", func(h http.Header) (http.Header, []byte, string, time.Time) {
			return h, body, secret, t0.Add(-2 * time.Minute)
		}, webhook.ErrStaleTimestamp},
		{"no signature", func(h http.Header) (http.Header, []byte, string, time.Time) {
			h = h.Clone()
			h.Del(webhook.HeaderSignature)
			return h, body, secret, t0
		}, webhook.ErrNoSignature},
		{"bad timestamp", func(h http.Header) (http.Header, []byte, string, time.Time) {
			h = h.Clone()
			h.Set(webhook.HeaderTimestamp, "yesterday")
			return h, body, secret, t0
		}, webhook.ErrBadTimestamp},
		{"other scheme", func(h http.Header) (http.Header, []byte, string, time.Time) {
			h = h.Clone()
			h.Set(webhook.HeaderSignature, "v0="+h.Get(webhook.HeaderSignature)[3:])
			return h, body, secret, t0
		}, webhook.ErrBadSignature},
	}
	for _, c := range cases {
		hh, b, sec, now := c.mod(h)
		if err := webhook.Verify(sec, hh, b, now, time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	// Rotation: a header listing an old and the current signature passes.
	h2 := h.Clone()
	h2.Set(webhook.HeaderSignature, "v1=00ff, "+webhook.Sign(secret, t0, body))
	if err := webhook.Verify(secret, h2, body, t0, 0); err != nil {
		t.Errorf("Verify(two signatures) = %v", err)
	}
}

func TestReplayedRequestIsRejected(t *testing.T) {
	// Capture a real delivery, then replay it to a receiver whose clock is
	// past the tolerance.
	var captured *http.Request
	var capturedBody []byte
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		captured = r.Clone(context.Background())
		capturedBody, _ = io.ReadAll(r.Body)
	}))
	if err := newSender(t, func() time.Time { return t0 }, 5*time.Second).Send(context.Background(), msg(srv.URL, "baton-job-3")); err != nil {
		t.Fatal(err)
	}
	later := &receiver{t: t, now: func() time.Time { return t0.Add(10 * time.Minute) }}
	rsrv := serve(t, later)
	req, _ := http.NewRequest(http.MethodPost, rsrv.URL, bytes.NewReader(capturedBody))
	req.Header = captured.Header.Clone()
	resp, err := client(5 * time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got, _, rejected := later.snapshot()
	if resp.StatusCode != http.StatusUnauthorized || len(got) != 0 || len(rejected) != 1 || !errors.Is(rejected[0], webhook.ErrStaleTimestamp) {
		t.Errorf("replay: status %d, accepted %d, rejected %v; want 401 for a stale timestamp", resp.StatusCode, len(got), rejected)
	}
}

func TestFailureClassification(t *testing.T) {
	status := func(code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", code) })
	}
	cases := []struct {
		name      string
		h         http.Handler
		permanent bool
	}{
		{"500", status(500), false},
		{"503", status(503), false},
		{"429", status(429), false},
		{"408", status(408), false},
		{"400", status(400), true},
		{"401", status(401), true},
		{"404", status(404), true},
		{"410", status(410), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := serve(t, c.h)
			err := newSender(t, time.Now, 5*time.Second).Send(context.Background(), msg(srv.URL, "k"))
			var he *notify.HTTPError
			if !errors.As(err, &he) || notify.IsPermanent(err) != c.permanent {
				t.Errorf("Send = %v; want *HTTPError, permanent=%v", err, c.permanent)
			}
		})
	}
}

func TestRetryAfterServerError(t *testing.T) {
	rc := &receiver{t: t, now: time.Now, failFirst: 1}
	srv := serve(t, rc)
	s := newSender(t, time.Now, 5*time.Second)
	err := s.Send(context.Background(), msg(srv.URL, "baton-job-4"))
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("first attempt: %v, want a retryable error", err)
	}
	if err := s.Send(context.Background(), msg(srv.URL, "baton-job-4")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got, _, _ := rc.snapshot(); len(got) != 1 {
		t.Errorf("accepted %d, want 1", len(got))
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	err = newSender(t, time.Now, 2*time.Second).Send(context.Background(), msg(url, "k"))
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("Send to a closed port = %v, want a retryable error", err)
	}
}

func TestSlowReceiverTimesOutRetryably(t *testing.T) {
	rc := &receiver{t: t, now: time.Now, delay: 5 * time.Second}
	srv := serve(t, rc)
	start := time.Now()
	err := newSender(t, time.Now, 200*time.Millisecond).Send(context.Background(), msg(srv.URL, "k"))
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("Send to a slow receiver = %v, want a retryable timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v; the client timeout is 200ms", d)
	}
}

func TestEgressRefusalIsPermanent(t *testing.T) {
	// The default client refuses loopback, private and metadata addresses
	// before dialing.
	s, err := webhook.New(webhook.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"} {
		err := s.Send(context.Background(), msg(u, "k"))
		var de *egress.DeniedError
		if !errors.As(err, &de) || !notify.IsPermanent(err) {
			t.Errorf("Send(%s) = %v, want a permanent egress refusal", u, err)
		}
	}
}

func TestDefaultURLsAndBadTargets(t *testing.T) {
	rc := &receiver{t: t, now: time.Now}
	srv := serve(t, rc)
	s, err := webhook.New(webhook.Config{Secret: secret, Client: client(5 * time.Second), URLs: []string{srv.URL + "/a", srv.URL + "/b"}})
	if err != nil {
		t.Fatal(err)
	}
	m := msg("", "baton-job-5")
	m.To = nil
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send to default URLs: %v", err)
	}
	// Both default URLs got the delivery; they share one receiver here, so
	// the second is dropped as a repeat of the same key.
	if got, repeats, _ := rc.snapshot(); len(got) != 1 || repeats != 1 {
		t.Errorf("accepted %d, repeats %d", len(got), repeats)
	}
	if err := s.Send(context.Background(), msg("ftp://example.com/x", "k")); !notify.IsPermanent(err) {
		t.Errorf("Send(ftp URL) = %v, want permanent", err)
	}
	if _, err := webhook.New(webhook.Config{}); err == nil {
		t.Error("New without a secret succeeded")
	}
}
