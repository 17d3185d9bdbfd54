package notify_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/notify/webhook"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// outbox is a fake channel that records what it is asked to send and
// answers with err.
type outbox struct {
	mu  sync.Mutex
	got []notify.Message
	err error
}

func (o *outbox) Send(_ context.Context, m notify.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, m)
	return o.err
}

func (o *outbox) messages() []notify.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]notify.Message(nil), o.got...)
}

var templateFiles = fstest.MapFS{
	"approved.subject":     {Data: []byte("Loan {{.loan.id}} approved for {{.applicant.name}}\n")},
	"approved.txt":         {Data: []byte("Hello {{.applicant.name}},\nyour loan of {{.loan.amount}} was approved.\n{{template \"_footer\" .}}")},
	"approved.html":        {Data: []byte(`<p>Hello {{.applicant.name}},</p><p>approved: {{.loan.amount}}</p>`)},
	"_footer.txt":          {Data: []byte("-- Baton ({{.Instance.ID}})")},
	"sms/reminder.txt":     {Data: []byte("Reminder: task {{.task.name}} is due {{.task.due}}")},
	"hooks/incident.txt":   {Data: []byte(`{"node": {{json .incident.nodeId}}, "msg": {{json .incident.message}}, "event": {{json .Event}}}`)},
	"incident.subject":     {Data: []byte("[{{upper .Event}}] {{.incident.message}}")},
	"incident.txt":         {Data: []byte("Instance {{.Instance.ID}} of {{.Instance.DefinitionID}}: {{.incident.message}}")},
	"README.md":            {Data: []byte("ignored")},
	"html-only.html":       {Data: []byte("<b>{{.x}}</b>")},
	"escape.html":          {Data: []byte("<p>{{.comment}}</p>")},
	"optional.txt":         {Data: []byte(`Hi{{with index . "nickname"}} {{.}}{{end}}, {{default "n/a" (index . "discount")}}`)},
	"nested/dir/deep.txt":  {Data: []byte("deep {{.x}}")},
	"nested/dir/deep.html": {Data: []byte("<i>deep {{.x}}</i>")},
}

func loadTemplates(t *testing.T) *notify.Templates {
	t.Helper()
	tpl, err := notify.LoadTemplates(templateFiles)
	if err != nil {
		t.Fatalf("LoadTemplates: %v", err)
	}
	return tpl
}

func sendJob(n *model.Notify, vars map[string]any) *runner.Job {
	return &runner.Job{
		JobRow:     store.JobRow{ID: "inst-9-3", InstanceID: "inst-9", NodeID: "notifyApplicant", Kind: "send"},
		Definition: &model.Definition{ID: "loan"},
		Node:       &model.Node{ID: "notifyApplicant", Type: model.SendTask, Notify: n},
		Variables:  vars,
	}
}

var loanVars = map[string]any{
	"applicant": map[string]any{"name": "Ann <Lee>", "email": "ann@example.org", "phone": "+15552223333"},
	"loan":      map[string]any{"id": 42.0, "amount": 5000.0},
	"approvers": []any{"cfo@example.com", "Risk Team <risk@example.com>"},
	"comment":   `<script>alert(1)</script>`,
	"x":         "X",
}

func TestLoadTemplates(t *testing.T) {
	tpl := loadTemplates(t)
	want := []string{"approved", "escape", "hooks/incident", "html-only", "incident", "nested/dir/deep", "optional", "sms/reminder"}
	if got := strings.Join(tpl.Names(), " "); got != strings.Join(want, " ") {
		t.Errorf("Names() = %s, want %s", got, strings.Join(want, " "))
	}
	for name, files := range map[string]map[string]string{
		"subject only": {"a.subject": "x"},
		"syntax error": {"a.txt": "{{.x"},
		"html syntax":  {"a.html": "{{if}}"},
	} {
		if _, err := notify.ParseTemplates(files); err == nil {
			t.Errorf("%s: ParseTemplates succeeded, want an error", name)
		}
	}
}

func TestHandlerSendsEmailFromNamedTemplate(t *testing.T) {
	email := &outbox{}
	h := notify.NewHandler(notify.Senders{notify.ChannelEmail: email}, loadTemplates(t))
	out, err := h.Work(context.Background(), sendJob(&model.Notify{Channel: "email", To: "=applicant.email", Template: "approved"}, loanVars))
	if err != nil {
		t.Fatalf("Work: %v", err)
	}
	if out != nil {
		t.Errorf("Work returned variables %v, want none", out)
	}
	got := email.messages()
	if len(got) != 1 {
		t.Fatalf("sent %d messages, want 1", len(got))
	}
	m := got[0]
	if m.Channel != "email" || strings.Join(m.To, ",") != "ann@example.org" || m.IdempotencyKey != "baton-inst-9-3" ||
		m.Event != string(engine.EventSend) || m.InstanceID != "inst-9" {
		t.Errorf("message = %+v", m)
	}
	if m.Subject != "Loan 42 approved for Ann <Lee>" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if !m.HTML || m.Body != "<p>Hello Ann &lt;Lee&gt;,</p><p>approved: 5000</p>" {
		t.Errorf("HTML body = %q (html %v), want the escaped HTML part", m.Body, m.HTML)
	}
	if m.Text != "Hello Ann <Lee>,\nyour loan of 5000 was approved.\n-- Baton (inst-9)" {
		t.Errorf("Text = %q", m.Text)
	}
	if m.Data != nil {
		t.Errorf("email carries data %v", m.Data)
	}
}

func TestHandlerInlineBodyAndRecipients(t *testing.T) {
	cases := []struct {
		name string
		n    model.Notify
		to   string
		body string
		subj string
	}{
		{"literal list", model.Notify{Channel: "email", To: "a@example.com, B <b@example.com>", Subject: "Hi {{.applicant.name}}", Body: "Amount {{.loan.amount}}"},
			"a@example.com|\"B\" <b@example.com>", "Amount 5000", "Hi Ann <Lee>"},
		{"expression list", model.Notify{Channel: "email", To: "=approvers", Body: "x"},
			"cfo@example.com|\"Risk Team\" <risk@example.com>", "x", ""},
		{"camunda expression", model.Notify{Channel: "sms", To: "${applicant.phone}", Body: "Loan {{.loan.id}} ok"},
			"+15552223333", "Loan 42 ok", ""},
		{"sms literal list", model.Notify{Channel: "sms", To: "+15550000001; +15550000002", Body: "hi"},
			"+15550000001|+15550000002", "hi", ""},
		{"multi-line subject", model.Notify{Channel: "email", To: "a@example.com", Subject: "Line one\nLine\ttwo", Body: "b"},
			"a@example.com", "b", "Line one Line two"},
		{"optional variables", model.Notify{Channel: "sms", To: "+1", Template: "optional"},
			"+1", "Hi, n/a", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			box := &outbox{}
			h := notify.NewHandler(notify.Senders{"email": box, "sms": box}, loadTemplates(t))
			n := c.n
			if _, err := h.Work(context.Background(), sendJob(&n, loanVars)); err != nil {
				t.Fatalf("Work: %v", err)
			}
			m := box.messages()[0]
			if got := strings.Join(m.To, "|"); got != c.to {
				t.Errorf("To = %q, want %q", got, c.to)
			}
			if m.Body != c.body || m.Subject != c.subj || m.HTML {
				t.Errorf("Subject %q Body %q HTML %v, want %q %q", m.Subject, m.Body, m.HTML, c.subj, c.body)
			}
		})
	}
}

func TestHandlerWebhookData(t *testing.T) {
	box := &outbox{}
	h := notify.NewHandler(notify.Senders{"webhook": box}, loadTemplates(t))
	// Without a body, data is the instance variables.
	if _, err := h.Work(context.Background(), sendJob(&model.Notify{Channel: "webhook", To: "https://hooks.example.com/a"}, loanVars)); err != nil {
		t.Fatal(err)
	}
	// With a body, data is the JSON object it renders.
	vars := map[string]any{"incident": map[string]any{"nodeId": "pay", "message": `say "hi"`}}
	if _, err := h.Work(context.Background(), sendJob(&model.Notify{Channel: "webhook", Template: "hooks/incident"}, vars)); err != nil {
		t.Fatal(err)
	}
	got := box.messages()
	if got[0].Data["loan"].(map[string]any)["amount"] != 5000.0 || got[0].To[0] != "https://hooks.example.com/a" {
		t.Errorf("data = %v", got[0].Data)
	}
	if d := got[1].Data; d["node"] != "pay" || d["msg"] != `say "hi"` || d["event"] != "send" || len(got[1].To) != 0 {
		t.Errorf("rendered data = %v, to %v", d, got[1].To)
	}
}

func TestHandlerPermanentErrors(t *testing.T) {
	box := &outbox{}
	h := notify.NewHandler(notify.Senders{"email": box, "sms": box, "webhook": box}, loadTemplates(t))
	cases := map[string]*runner.Job{
		"no notify block":       sendJob(nil, loanVars),
		"unknown channel":       sendJob(&model.Notify{Channel: "pigeon", To: "x", Body: "b"}, loanVars),
		"missing template":      sendJob(&model.Notify{Channel: "email", To: "a@example.com", Template: "nope"}, loanVars),
		"template and body":     sendJob(&model.Notify{Channel: "email", To: "a@example.com", Template: "approved", Body: "b"}, loanVars),
		"missing variable":      sendJob(&model.Notify{Channel: "email", To: "a@example.com", Body: "{{.nobody.name}}"}, loanVars),
		"undefined to variable": sendJob(&model.Notify{Channel: "email", To: "=manager.email", Body: "b"}, loanVars),
		"to gives a number":     sendJob(&model.Notify{Channel: "email", To: "=loan.amount", Body: "b"}, loanVars),
		"bad address":           sendJob(&model.Notify{Channel: "email", To: "not an address", Body: "b"}, loanVars),
		"no recipients":         sendJob(&model.Notify{Channel: "sms", Body: "b"}, loanVars),
		"html-only sms":         sendJob(&model.Notify{Channel: "sms", To: "+1", Template: "html-only"}, loanVars),
		"empty sms":             sendJob(&model.Notify{Channel: "sms", To: "+1", Body: "  "}, loanVars),
		"webhook body not JSON": sendJob(&model.Notify{Channel: "webhook", Body: "hello {{.x}}"}, loanVars),
		"inline syntax error":   sendJob(&model.Notify{Channel: "email", To: "a@example.com", Body: "{{.x"}, loanVars),
	}
	for name, job := range cases {
		_, err := h.Work(context.Background(), job)
		var pe *runner.PermanentError
		if !errors.As(err, &pe) {
			t.Errorf("%s: Work = %v, want a runner.PermanentError", name, err)
		}
	}
	if n := len(box.messages()); n != 0 {
		t.Errorf("%d messages were sent for broken jobs", n)
	}
}

func TestHandlerPassesSenderErrorClasses(t *testing.T) {
	retry := &outbox{err: errors.New("connection reset")}
	perm := &outbox{err: notify.Permanent(errors.New("550 no such user"))}
	h := notify.NewHandler(notify.Senders{"email": retry, "sms": perm}, nil)

	_, err := h.Work(context.Background(), sendJob(&model.Notify{Channel: "email", To: "a@example.com", Body: "b"}, loanVars))
	var pe *runner.PermanentError
	if err == nil || errors.As(err, &pe) {
		t.Errorf("retryable sender error: Work = %v, want a plain (retryable) error", err)
	}
	_, err = h.Work(context.Background(), sendJob(&model.Notify{Channel: "sms", To: "+1", Body: "b"}, loanVars))
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "550 no such user") {
		t.Errorf("permanent sender error: Work = %v, want runner.PermanentError", err)
	}
}

func TestHandlerThroughWebhookChannel(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	status := http.StatusInternalServerError
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify("s3cret", r.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("Verify: %v", err)
		}
		mu.Lock()
		keys = append(keys, r.Header.Get(webhook.HeaderIdempotencyKey))
		code := status
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer srv.Close()
	wh, err := webhook.New(webhook.Config{Secret: "s3cret", Client: egress.Policy{AllowLoopback: true}.Client(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	h := notify.NewHandler(notify.Senders{"webhook": wh}, nil)
	job := sendJob(&model.Notify{Channel: "webhook", To: srv.URL}, map[string]any{"orderId": "o-1"})

	var pe *runner.PermanentError
	if _, err := h.Work(context.Background(), job); err == nil || errors.As(err, &pe) {
		t.Fatalf("500: Work = %v, want a retryable error", err)
	}
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	if _, err := h.Work(context.Background(), job); err != nil {
		t.Fatalf("retry: Work = %v", err)
	}
	mu.Lock()
	status = http.StatusBadRequest
	mu.Unlock()
	if _, err := h.Work(context.Background(), job); !errors.As(err, &pe) {
		t.Fatalf("400: Work = %v, want runner.PermanentError", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 3 || keys[0] != "baton-inst-9-3" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Errorf("idempotency keys %v, want the job's key on every attempt", keys)
	}
}

func TestTemplateHTMLEscapingAndInstance(t *testing.T) {
	box := &outbox{}
	h := notify.NewHandler(notify.Senders{"email": box}, loadTemplates(t))
	if _, err := h.Work(context.Background(), sendJob(&model.Notify{Channel: "email", To: "a@example.com", Subject: "{{.Instance.DefinitionID}}/{{.Instance.NodeID}}", Template: "escape"}, loanVars)); err != nil {
		t.Fatal(err)
	}
	m := box.messages()[0]
	if m.Body != "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" || !m.HTML {
		t.Errorf("HTML body = %q, want escaped", m.Body)
	}
	if m.Subject != "loan/notifyApplicant" {
		t.Errorf("Subject = %q, want the inline subject over .Instance", m.Subject)
	}
}

func TestSubscriptions(t *testing.T) {
	tpl := loadTemplates(t)
	subs, err := notify.ParseSubscriptions([]byte(`{"subscriptions": [
		{"event": "incident.opened", "channel": "email", "to": "ops@example.com", "template": "incident"},
		{"event": "incident.opened", "definition": "loan", "channel": "webhook", "to": "https://hooks.example.com/loan", "template": "hooks/incident"},
		{"event": "incident.opened", "definition": "other", "channel": "sms", "to": "+15550000000", "body": "x"},
		{"event": "task.overdue", "channel": "sms", "to": "=task.assigneePhone", "template": "sms/reminder"}
	]}`), tpl)
	if err != nil {
		t.Fatalf("ParseSubscriptions: %v", err)
	}
	if !subs.Match("incident.opened", "loan") || subs.Match("instance.started", "loan") {
		t.Error("Match is wrong")
	}
	vars := map[string]any{"incident": map[string]any{"nodeId": "pay", "message": "payment down"}}
	msgs, err := subs.Messages("incident.opened", "loan", vars, "inst-7")
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if len(msgs) != 2 {
		t.Fatalf("Messages = %+v, want the global email and the loan webhook", msgs)
	}
	e, w := msgs[0], msgs[1]
	if e.Channel != "email" || e.To[0] != "ops@example.com" || e.Subject != "[INCIDENT.OPENED] payment down" ||
		e.Body != "Instance inst-7 of loan: payment down" || e.Event != "incident.opened" || e.InstanceID != "inst-7" || e.IdempotencyKey != "" {
		t.Errorf("email = %+v", e)
	}
	if w.Channel != "webhook" || w.Data["node"] != "pay" || w.Data["event"] != "incident.opened" {
		t.Errorf("webhook = %+v", w)
	}

	msgs, err = subs.Messages("task.overdue", "loan", map[string]any{"task": map[string]any{"name": "Review", "due": "2026-03-02", "assigneePhone": "+15551112222"}}, "inst-7")
	if err != nil || len(msgs) != 1 || msgs[0].Body != "Reminder: task Review is due 2026-03-02" || msgs[0].To[0] != "+15551112222" {
		t.Errorf("task.overdue: %+v, %v", msgs, err)
	}

	// A failing subscription does not hide the others.
	two, err := notify.NewSubscriptions([]notify.Subscription{
		{Event: "instance.started", Spec: notify.Spec{Channel: "email", To: "a@example.com", Body: "needs {{.missing}}"}},
		{Event: "instance.started", Spec: notify.Spec{Channel: "webhook", To: "https://hooks.example.com/x"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err = two.Messages("instance.started", "loan", map[string]any{"x": 1}, "inst-8")
	if err == nil || !notify.IsPermanent(err) || len(msgs) != 1 || msgs[0].Channel != "webhook" {
		t.Errorf("partial failure: %d messages, error %v", len(msgs), err)
	}

	var none *notify.Subscriptions
	if msgs, err := none.Messages("incident.opened", "loan", vars, "i"); msgs != nil || err != nil || none.Match("incident.opened", "") {
		t.Error("nil Subscriptions should have none")
	}
}

func TestSubscriptionsValidation(t *testing.T) {
	tpl := loadTemplates(t)
	for name, doc := range map[string]string{
		"unknown event":     `[{"event": "instance.exploded", "channel": "email", "to": "a@example.com", "body": "x"}]`,
		"missing template":  `[{"event": "instance.started", "channel": "email", "to": "a@example.com", "template": "nope"}]`,
		"no channel":        `[{"event": "instance.started", "to": "a@example.com", "body": "x"}]`,
		"email without to":  `[{"event": "instance.started", "channel": "email", "body": "x"}]`,
		"bad expression":    `[{"event": "instance.started", "channel": "email", "to": "=a +", "body": "x"}]`,
		"bad inline":        `[{"event": "instance.started", "channel": "email", "to": "a@example.com", "body": "{{.x"}]`,
		"template and body": `[{"event": "instance.started", "channel": "email", "to": "a@example.com", "template": "approved", "body": "x"}]`,
		"unknown field":     `[{"event": "instance.started", "channel": "email", "to": "a@example.com", "body": "x", "cc": "b"}]`,
		"bad address":       `[{"event": "instance.started", "channel": "email", "to": "not an address", "body": "x"}]`,
	} {
		if _, err := notify.ParseSubscriptions([]byte(doc), tpl); err == nil {
			t.Errorf("%s: ParseSubscriptions succeeded, want an error", name)
		}
	}
	if _, err := notify.ParseSubscriptions([]byte(`[{"event": "instance.completed", "channel": "webhook", "body": "{\"id\": {{json .Instance.ID}}}"}]`), nil); err != nil {
		t.Errorf("list form without templates: %v", err)
	}
}

func TestCheckHTTP(t *testing.T) {
	resp := func(code int) *http.Response {
		return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader("answer"))}
	}
	for code, want := range map[int]string{200: "ok", 201: "ok", 204: "ok", 408: "retry", 425: "retry", 429: "retry",
		500: "retry", 502: "retry", 400: "permanent", 401: "permanent", 404: "permanent", 422: "permanent", 301: "permanent"} {
		err := notify.CheckHTTP("https://user:pw@example.com/x?token=t", resp(code), nil)
		got := "ok"
		if err != nil {
			got = "retry"
			if notify.IsPermanent(err) {
				got = "permanent"
			}
			if strings.Contains(err.Error(), "token") || strings.Contains(err.Error(), "pw") {
				t.Errorf("%d: error %q leaks credentials", code, err)
			}
		}
		if got != want {
			t.Errorf("CheckHTTP(%d) = %v (%s), want %s", code, err, got, want)
		}
	}
	if err := notify.CheckHTTP("u", nil, errors.New("connection refused")); err == nil || notify.IsPermanent(err) {
		t.Errorf("network error: %v, want retryable", err)
	}
	denied := &egress.DeniedError{Host: "10.0.0.1", Reason: egress.ReasonPrivate}
	if err := notify.CheckHTTP("u", nil, denied); !notify.IsPermanent(err) {
		t.Errorf("egress refusal: %v, want permanent", err)
	}
}

func TestSendersRouting(t *testing.T) {
	a := &outbox{}
	s := notify.Senders{"email": a}
	if err := s.Send(context.Background(), notify.Message{Channel: "email"}); err != nil || len(a.messages()) != 1 {
		t.Errorf("Send(email) = %v", err)
	}
	if err := s.Send(context.Background(), notify.Message{Channel: "fax"}); !notify.IsPermanent(err) {
		t.Errorf("Send(fax) = %v, want permanent", err)
	}
	if notify.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}

func TestOutboxRoundTrip(t *testing.T) {
	subs, err := notify.NewSubscriptions([]notify.Subscription{
		{Event: engine.EventInstanceCompleted, Spec: notify.Spec{Channel: "email", To: "=owner", Subject: "Done: {{.Instance.ID}}", Body: "Total {{.total}}"}},
		{Event: engine.EventInstanceCompleted, Definition: "loan", Spec: notify.Spec{Channel: "webhook", To: "https://hooks.example.com/done"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	rows, err := subs.OutboxRows(engine.EventInstanceCompleted, "loan", map[string]any{"owner": "ann@example.org", "total": 12.5}, "inst-5", now)
	if err != nil || len(rows) != 2 {
		t.Fatalf("OutboxRows = %+v, %v", rows, err)
	}
	if r := rows[0]; r.Channel != "email" || r.Target != "ann@example.org" || r.Event != "instance.completed" ||
		r.InstanceID != "inst-5" || r.State != store.OutboxPending || !r.RunAt.Equal(now) {
		t.Errorf("row = %+v", r)
	}
	box := &outbox{}
	senders := notify.Senders{"email": box, "webhook": box}
	for i := range rows {
		rows[i].ID = fmt.Sprintf("ob-%d", i+1)
		if err := senders.Deliver(context.Background(), rows[i]); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	got := box.messages()
	if m := got[0]; m.Subject != "Done: inst-5" || m.Body != "Total 12.5" || m.IdempotencyKey != "baton-outbox-ob-1" || !m.Time.Equal(now) {
		t.Errorf("delivered email = %+v", m)
	}
	if m := got[1]; m.Data["total"] != 12.5 || m.IdempotencyKey != "baton-outbox-ob-2" || m.To[0] != "https://hooks.example.com/done" {
		t.Errorf("delivered webhook = %+v", m)
	}
	if err := senders.Deliver(context.Background(), store.OutboxRow{ID: "x", Payload: []byte("{")}); !notify.IsPermanent(err) {
		t.Errorf("Deliver(bad payload) = %v, want permanent", err)
	}
}

func TestLogSender(t *testing.T) {
	var b strings.Builder
	s := notify.LogSender{Logger: slog.New(slog.NewTextHandler(&b, nil))}
	if err := s.Send(context.Background(), notify.Message{Channel: "sms", To: []string{"+1555"}, Body: "secret", IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "channel=sms") || strings.Contains(out, "secret") || strings.Contains(out, "+1555") {
		t.Errorf("log = %q, want the channel without body or recipients", out)
	}
}
