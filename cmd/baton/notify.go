package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/notify/sms"
	"github.com/batonhq/baton/internal/notify/smtp"
	"github.com/batonhq/baton/internal/notify/webhook"
)

// egressPolicy reads the outbound-call guard from the environment:
// BATON_EGRESS_ALLOW_HOSTS (comma-separated hosts, *.domains or CIDRs; empty:
// any public host), BATON_EGRESS_ALLOW_PRIVATE and
// BATON_EGRESS_ALLOW_LOOPBACK (true/false). Private, loopback and
// link-local addresses are refused unless allowed.
func egressPolicy() (egress.Policy, error) {
	p := egress.Policy{AllowHosts: splitList(os.Getenv("BATON_EGRESS_ALLOW_HOSTS"))}
	var err error
	if p.AllowPrivate, err = envBool("BATON_EGRESS_ALLOW_PRIVATE"); err != nil {
		return p, err
	}
	if p.AllowLoopback, err = envBool("BATON_EGRESS_ALLOW_LOOPBACK"); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// notifications builds the notification channels, templates and
// lifecycle subscriptions from the environment (docs/notifications.md).
// Channels that are not configured log their messages instead.
func notifications(log *slog.Logger, pol egress.Policy, defaultTemplates string) (notify.Senders, *notify.Templates, *notify.Subscriptions, error) {
	logSender := notify.LogSender{Logger: log}
	senders := notify.Senders{"email": logSender, "sms": logSender, "webhook": logSender}
	client := pol.Client(30 * time.Second)
	if host := os.Getenv("BATON_SMTP_HOST"); host != "" {
		port := 0
		if p := os.Getenv("BATON_SMTP_PORT"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("BATON_SMTP_PORT: %v", err)
			}
			port = n
		}
		s, err := smtp.New(smtp.Config{Host: host, Port: port, Username: os.Getenv("BATON_SMTP_USERNAME"),
			Password: os.Getenv("BATON_SMTP_PASSWORD"), From: os.Getenv("BATON_SMTP_FROM"), TLS: smtp.TLSMode(envOr("BATON_SMTP_TLS", "starttls"))})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("email: %w", err)
		}
		senders["email"] = s
	}
	if sid := os.Getenv("BATON_SMS_ACCOUNT_SID"); sid != "" {
		s, err := sms.New(sms.Config{BaseURL: os.Getenv("BATON_SMS_BASE_URL"), AccountSID: sid,
			AuthToken: os.Getenv("BATON_SMS_AUTH_TOKEN"), From: os.Getenv("BATON_SMS_FROM"), Client: client})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sms: %w", err)
		}
		senders["sms"] = s
	}
	if secret := os.Getenv("BATON_WEBHOOK_SECRET"); secret != "" {
		s, err := webhook.New(webhook.Config{Secret: secret, URLs: splitList(os.Getenv("BATON_WEBHOOK_URLS")), Client: client})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("webhook: %w", err)
		}
		senders["webhook"] = s
	}
	tpl := &notify.Templates{}
	dir := os.Getenv("BATON_NOTIFY_TEMPLATES")
	if dir == "" && defaultTemplates != "" {
		if fi, err := os.Stat(defaultTemplates); err == nil && fi.IsDir() {
			dir = defaultTemplates
		}
	}
	if dir != "" {
		t, err := notify.LoadTemplates(os.DirFS(dir))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("BATON_NOTIFY_TEMPLATES: %w", err)
		}
		tpl = t
	} else if t, err := notify.ParseTemplates(nil); err == nil {
		tpl = t
	}
	var subs *notify.Subscriptions
	if file := os.Getenv("BATON_NOTIFY_SUBSCRIPTIONS"); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("BATON_NOTIFY_SUBSCRIPTIONS: %w", err)
		}
		if subs, err = notify.ParseSubscriptions(data, tpl); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return senders, tpl, subs, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", name, v)
	}
	return b, nil
}
