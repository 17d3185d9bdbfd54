// Package notifye2e runs the loan approval end to end against real
// protocol peers on 127.0.0.1: the payout service fails twice then
// succeeds, the applicant gets an email over SMTP, a webhook subscriber
// gets a signed instance.completed, and the delivery log shows every
// attempt.
package notifye2e

import (
	"context"
	"encoding/json"
	"github.com/batonhq/baton/internal/handlers"
	"github.com/batonhq/baton/internal/testkit"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/httpcall"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/notify/smtp"
	"github.com/batonhq/baton/internal/notify/webhook"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// mailbox is an SMTP backend that records messages.
type mailbox struct {
	mu   sync.Mutex
	mail []mail
}

type mail struct {
	from string
	to   []string
	data string
}

func (m *mailbox) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &session{box: m}, nil }

func (m *mailbox) all() []mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mail(nil), m.mail...)
}

type session struct {
	box *mailbox
	cur mail
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.box.mu.Lock()
	s.box.mail = append(s.box.mail, s.cur)
	s.box.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = mail{} }
func (s *session) Logout() error { return nil }

func TestLoanApprovalWithNotifications(t *testing.T) {
	ctx := context.Background()

	// The SMTP server.
	box := &mailbox{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpSrv := gosmtp.NewServer(box)
	smtpSrv.Domain = "localhost"
	smtpSrv.AllowInsecureAuth = true
	go func() { _ = smtpSrv.Serve(ln) }()
	defer smtpSrv.Close()

	// The payout service: two 500s, then success; it records the
	// idempotency keys it sees.
	var payMu sync.Mutex
	var payKeys []string
	payments := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payMu.Lock()
		payKeys = append(payKeys, r.Header.Get("Idempotency-Key"))
		n := len(payKeys)
		payMu.Unlock()
		if n <= 2 {
			http.Error(w, "payments backend unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"payoutId": "p-77"}`)
	}))
	defer payments.Close()

	// The webhook subscriber: verifies signatures; refuses the first
	// delivery so the log shows a retried attempt.
	const secret = "whsec-test"
	var hookMu sync.Mutex
	var hooks []map[string]any
	hookCalls := 0
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		hookMu.Lock()
		defer hookMu.Unlock()
		hookCalls++
		if hookCalls == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		hooks = append(hooks, p)
	}))
	defer receiver.Close()

	// Baton: SQLite store, runner with the outbox, HTTP service tasks,
	// email send tasks, a webhook subscription on instance.completed.
	st := testkit.SQLite(t)
	pol := egress.Policy{AllowLoopback: true}
	client := pol.Client(10 * time.Second)
	port := ln.Addr().(*net.TCPAddr).Port
	mailer, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: port, From: "Baton <baton@example.com>", TLS: smtp.TLSMode("none")})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := webhook.New(webhook.Config{Secret: secret, URLs: []string{receiver.URL}, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	senders := notify.Senders{"email": mailer, "webhook": hook}
	tpl, err := notify.LoadTemplates(os.DirFS("../../examples/templates"))
	if err != nil {
		t.Fatal(err)
	}
	subs, err := notify.ParseSubscriptions([]byte(`[{"event":"instance.completed","channel":"webhook","body":"{\"amount\": {{.amount}}}"}]`), tpl)
	if err != nil {
		t.Fatal(err)
	}
	r := testkit.Runner(t, runner.Config{Store: st, Outbox: subs.OutboxRows, SendNotification: senders.Deliver,
		Retry: runner.RetryPolicy{MaxAttempts: 3, Initial: 20 * time.Millisecond, Factor: 2, Max: time.Second}}, func(r *runner.Runner) {
		handlers.Register(r, handlers.Deps{
			Service: &httpcall.Handler{Client: client, Env: map[string]string{"PAYMENTS_URL": payments.URL}},
			Send:    notify.NewHandler(senders, tpl),
		})
	})
	src, err := os.ReadFile("../../examples/loan-approval.json")
	if err != nil {
		t.Fatal(err)
	}
	// The example retries the payout with PT1S backoff; keep the node's
	// policy but make the test quick.
	src = []byte(strings.Replace(string(src), `"backoff": "PT1S"`, `"backoff": "PT0.05S"`, 1))
	if _, _, err := r.Deploy(ctx, "loan-approval.json", src, "test"); err != nil {
		t.Fatal(err)
	}
	inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 500.0, "applicant": map[string]any{"email": "ada@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}

	cur := testkit.WaitState(t, r, inst.InstanceID, func(cur *engine.State) bool {
		return cur.Status == engine.StatusCompleted || cur.Status == engine.StatusFailed
	})
	if cur.Status != engine.StatusCompleted {
		t.Fatalf("instance %s at %v, incidents %+v", cur.Status, cur.CurrentNodeIDs(), cur.Incidents)
	}
	if cur.Variables["payoutId"] != "p-77" {
		t.Fatalf("variables %v", cur.Variables)
	}

	// The payout: three calls, one idempotency key.
	payMu.Lock()
	keys := append([]string(nil), payKeys...)
	payMu.Unlock()
	if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Fatalf("payout calls %q: want 3 with the same idempotency key", keys)
	}

	// The applicant's email.
	mails := box.all()
	if len(mails) != 1 || len(mails[0].to) != 1 || mails[0].to[0] != "ada@example.com" ||
		!strings.Contains(mails[0].data, "Subject: Your loan of 500 is approved") || !strings.Contains(mails[0].data, "has been approved") {
		t.Fatalf("mail %+v", mails)
	}

	// The signed webhook and the delivery log.
	if !testkit.Eventually(t, 10*time.Second, func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return len(hooks) == 1
	}) {
		t.Fatal("no instance.completed webhook")
	}
	hookMu.Lock()
	if hooks[0]["event"] != "instance.completed" || hooks[0]["instanceId"] != inst.InstanceID {
		t.Fatalf("webhook payload %v", hooks[0])
	}
	hookMu.Unlock()
	var sent []store.OutboxRow
	testkit.Eventually(t, 10*time.Second, func() bool {
		sent, _ = r.Outbox(ctx, store.OutboxFilter{InstanceID: inst.InstanceID})
		return len(sent) == 1 && sent[0].State == store.OutboxSent
	})
	if len(sent) != 1 || sent[0].State != store.OutboxSent || sent[0].Attempts != 2 || !strings.Contains(sent[0].LastError, "503") {
		t.Fatalf("delivery log %+v: want one webhook sent on attempt 2 after a 503", sent)
	}
	jobs, _ := st.Jobs(ctx, store.JobFilter{InstanceID: inst.InstanceID, Kind: "service"})
	if len(jobs) != 1 || jobs[0].Attempt != 3 || jobs[0].State != store.JobCompleted {
		t.Fatalf("payout job %+v: want completed on attempt 3", jobs)
	}
	t.Logf("payout attempts %d (key %s); email to %v; webhook delivered on attempt %d (last error %q)",
		jobs[0].Attempt, keys[0], mails[0].to, sent[0].Attempts, sent[0].LastError)
}
