package sms_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/notify/sms"
)

const (
	sid   = "AC0123456789abcdef"
	token = "tok_secret"
)

// sent is one message the fake provider accepted.
type sent struct {
	to, from, body, key string
}

// twilio is a fake Twilio-style Messages API.
type twilio struct {
	t      *testing.T
	status int           // answer (default 201)
	delay  time.Duration // wait before answering

	mu   sync.Mutex
	got  []sent
	auth []string // failures
}

func (f *twilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the body first: the server notices a client that gave up only
	// once the body is consumed.
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("form: %v", err)
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
		http.Error(w, `{"code":20404,"message":"not found"}`, http.StatusNotFound)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != sid || pass != token {
		f.mu.Lock()
		f.auth = append(f.auth, user)
		f.mu.Unlock()
		http.Error(w, `{"code":20003,"message":"Authenticate"}`, http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	if f.status != 0 && f.status != http.StatusCreated {
		http.Error(w, `{"code":21211,"message":"The 'To' number is not a valid phone number."}`, f.status)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, sent{to: r.PostForm.Get("To"), from: r.PostForm.Get("From"), body: r.PostForm.Get("Body"), key: r.Header.Get("Idempotency-Key")})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
}

func (f *twilio) sent() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.got...)
}

func start(t *testing.T, f *twilio) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func newSender(t *testing.T, base string, timeout time.Duration, mod ...func(*sms.Config)) *sms.Sender {
	t.Helper()
	cfg := sms.Config{BaseURL: base, AccountSID: sid, AuthToken: token, From: "+15550001111",
		Client: egress.Policy{AllowLoopback: true}.Client(timeout)}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := sms.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func msg(key string, to ...string) notify.Message {
	return notify.Message{Channel: notify.ChannelSMS, To: to, Body: "  Your loan 42 was approved.\n", IdempotencyKey: key}
}

func TestSendsFormWithBasicAuth(t *testing.T) {
	f := &twilio{t: t}
	s := newSender(t, start(t, f), 5*time.Second)
	if err := s.Send(context.Background(), msg("baton-job-1", "+15552223333")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Send(context.Background(), msg("baton-job-2", "+15554445555", "+15556667777")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := f.sent()
	want := []sent{
		{"+15552223333", "+15550001111", "Your loan 42 was approved.", "baton-job-1"},
		{"+15554445555", "+15550001111", "Your loan 42 was approved.", "baton-job-2-+15554445555"},
		{"+15556667777", "+15550001111", "Your loan 42 was approved.", "baton-job-2-+15556667777"},
	}
	if len(got) != len(want) {
		t.Fatalf("provider got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name      string
		f         *twilio
		mod       func(*sms.Config)
		timeout   time.Duration
		permanent bool
	}{
		{"500", &twilio{status: 500}, nil, 5 * time.Second, false},
		{"503", &twilio{status: 503}, nil, 5 * time.Second, false},
		{"429", &twilio{status: 429}, nil, 5 * time.Second, false},
		{"400 invalid number", &twilio{status: 400}, nil, 5 * time.Second, true},
		{"401 bad token", &twilio{}, func(c *sms.Config) { c.AuthToken = "wrong" }, 5 * time.Second, true},
		{"slow provider", &twilio{delay: 5 * time.Second}, nil, 200 * time.Millisecond, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.f.t = t
			var mods []func(*sms.Config)
			if c.mod != nil {
				mods = append(mods, c.mod)
			}
			err := newSender(t, start(t, c.f), c.timeout, mods...).Send(context.Background(), msg("k", "+15552223333"))
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if notify.IsPermanent(err) != c.permanent {
				t.Errorf("Send = %v: permanent %v, want %v", err, notify.IsPermanent(err), c.permanent)
			}
			if len(c.f.sent()) != 0 {
				t.Errorf("provider recorded %v", c.f.sent())
			}
		})
	}
}

func TestErrorsMaskNumbers(t *testing.T) {
	f := &twilio{t: t, status: 400}
	err := newSender(t, start(t, f), 5*time.Second).Send(context.Background(), msg("k", "+15552223333"))
	var he *notify.HTTPError
	if !errors.As(err, &he) || he.Status != 400 {
		t.Fatalf("Send = %v, want an HTTPError 400", err)
	}
	if msg := err.Error(); strings.Contains(msg, "5552223333") || !strings.Contains(msg, "3333") {
		t.Errorf("error %q shows the full number", msg)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close()
	err = newSender(t, base, 2*time.Second).Send(context.Background(), msg("k", "+15552223333"))
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("Send to a closed port = %v, want a retryable error", err)
	}
}

func TestInvalidMessagesAndConfig(t *testing.T) {
	s := newSender(t, "http://127.0.0.1:9", time.Second)
	if err := s.Send(context.Background(), notify.Message{Body: "x"}); !notify.IsPermanent(err) {
		t.Errorf("Send without recipients = %v, want permanent", err)
	}
	if err := s.Send(context.Background(), notify.Message{To: []string{"+1555"}, Body: "  "}); !notify.IsPermanent(err) {
		t.Errorf("Send with empty body = %v, want permanent", err)
	}
	for name, cfg := range map[string]sms.Config{
		"no sid":   {AuthToken: token, From: "+1"},
		"no token": {AccountSID: sid, From: "+1"},
		"no from":  {AccountSID: sid, AuthToken: token},
		"bad url":  {BaseURL: "api.twilio.com", AccountSID: sid, AuthToken: token, From: "+1"},
	} {
		if _, err := sms.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestDefaultClientRefusesPrivateProvider(t *testing.T) {
	s, err := sms.New(sms.Config{BaseURL: "http://10.0.0.5", AccountSID: sid, AuthToken: token, From: "+1"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), msg("k", "+15552223333"))
	var de *egress.DeniedError
	if !errors.As(err, &de) || !notify.IsPermanent(err) {
		t.Errorf("Send = %v, want a permanent egress refusal", err)
	}
}
