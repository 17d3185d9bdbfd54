package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/batonhq/baton/internal/expr"
)

// Spec describes a notification before rendering: the notify block of a
// send task, or the target of a subscription.
type Spec struct {
	// Channel is "email", "sms", "webhook" or a custom channel with a
	// registered Sender.
	Channel string `json:"channel"`
	// To lists recipients: a literal ("ops@example.com, cfo@example.com",
	// "+15551234567", "https://hooks.example.com/baton") or an expression
	// starting with "=" (or ${...}) over the instance variables
	// ("=applicant.email") giving a string or a list of strings. Email
	// lists use RFC 5322 address syntax, SMS lists are separated by
	// commas or semicolons, webhook lists by spaces. A webhook spec may
	// leave To empty to use the sender's configured URLs.
	To string `json:"to,omitempty"`
	// Subject is an inline text/template; it overrides the named
	// template's subject.
	Subject string `json:"subject,omitempty"`
	// Template names a template of the Templates set.
	Template string `json:"template,omitempty"`
	// Body is an inline text/template, the alternative to Template. For
	// webhooks it must render to a JSON object, which becomes "data".
	Body string `json:"body,omitempty"`
}

// renderer turns specs into messages. It caches compiled inline
// templates and recipient expressions; it is safe for concurrent use.
type renderer struct {
	templates *Templates

	mu     sync.Mutex
	inline map[string]*texttemplate.Template
	exprs  map[string]*expr.Program
}

func newRenderer(t *Templates) *renderer {
	return &renderer{templates: t}
}

// isExpr reports whether a To value is an expression rather than a
// literal.
func isExpr(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "=") || strings.HasPrefix(s, "${") || strings.HasPrefix(s, "#{")
}

func (r *renderer) inlineTemplate(src string) (*texttemplate.Template, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.inline[src]; t != nil {
		return t, nil
	}
	t, err := r.templates.parseText("inline", src)
	if err != nil {
		return nil, err
	}
	if r.inline == nil {
		r.inline = map[string]*texttemplate.Template{}
	}
	r.inline[src] = t
	return t, nil
}

func (r *renderer) program(src string) (*expr.Program, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.exprs[src]; p != nil {
		return p, nil
	}
	p, err := expr.Compile(src)
	if err != nil {
		return nil, err
	}
	if r.exprs == nil {
		r.exprs = map[string]*expr.Program{}
	}
	r.exprs[src] = p
	return p, nil
}

// check compiles what a spec needs and reports configuration errors
// before any message is rendered.
func (r *renderer) check(s Spec) error {
	var errs []error
	if s.Channel == "" {
		errs = append(errs, errors.New("channel is empty"))
	}
	if s.Template != "" && s.Body != "" {
		errs = append(errs, errors.New("template and body are alternatives; set one"))
	}
	if s.Template != "" && !r.templates.Has(s.Template) {
		errs = append(errs, fmt.Errorf("template %q does not exist", s.Template))
	}
	if s.Body != "" {
		if _, err := r.inlineTemplate(s.Body); err != nil {
			errs = append(errs, fmt.Errorf("body: %w", err))
		}
	}
	if s.Subject != "" {
		if _, err := r.inlineTemplate(s.Subject); err != nil {
			errs = append(errs, fmt.Errorf("subject: %w", err))
		}
	}
	switch {
	case isExpr(s.To):
		if _, err := r.program(s.To); err != nil {
			errs = append(errs, fmt.Errorf("to: %w", err))
		}
	case strings.TrimSpace(s.To) == "":
		if s.Channel == ChannelEmail || s.Channel == ChannelSMS {
			errs = append(errs, fmt.Errorf("to is empty; %s needs recipients", s.Channel))
		}
	default:
		if _, err := splitRecipients(s.Channel, s.To); err != nil {
			errs = append(errs, fmt.Errorf("to: %w", err))
		}
	}
	return errors.Join(errs...)
}

// render turns a spec into a message over the instance variables. Its
// errors are configuration or data errors: retrying cannot fix them.
func (r *renderer) render(s Spec, vars map[string]any, event string, inst InstanceInfo) (Message, error) {
	if s.Channel == "" {
		return Message{}, errors.New("notify: channel is empty")
	}
	if s.Template != "" && s.Body != "" {
		return Message{}, errors.New("notify: template and body are alternatives; set one")
	}
	data := templateData(vars, event, inst)
	var p parts
	var err error
	switch {
	case s.Template != "":
		if p, err = r.templates.execute(s.Template, data); err != nil {
			return Message{}, fmt.Errorf("notify: template %q: %w", s.Template, err)
		}
	case s.Body != "":
		if p.text, err = r.execInline(s.Body, data); err != nil {
			return Message{}, fmt.Errorf("notify: body: %w", err)
		}
		p.hasText = true
	}
	if s.Subject != "" {
		if p.subject, err = r.execInline(s.Subject, data); err != nil {
			return Message{}, fmt.Errorf("notify: subject: %w", err)
		}
	}
	to, err := r.recipients(s.Channel, s.To, vars)
	if err != nil {
		return Message{}, fmt.Errorf("notify: to: %w", err)
	}
	m := Message{Channel: s.Channel, To: to, Subject: oneLine(p.subject), Event: event, InstanceID: inst.ID}
	switch s.Channel {
	case ChannelEmail:
		if len(to) == 0 {
			return Message{}, errors.New("notify: email has no recipients")
		}
		if p.hasHTML {
			m.Body, m.HTML, m.Text = p.html, true, p.text
		} else {
			m.Body = p.text
		}
		if m.Subject == "" && strings.TrimSpace(m.Body) == "" {
			return Message{}, errors.New("notify: email has neither subject nor body")
		}
	case ChannelSMS:
		if len(to) == 0 {
			return Message{}, errors.New("notify: sms has no recipients")
		}
		if !p.hasText && p.hasHTML {
			return Message{}, fmt.Errorf("notify: template %q has no %s part for sms", s.Template, ExtText)
		}
		m.Body = strings.TrimSpace(p.text)
		if m.Body == "" {
			return Message{}, errors.New("notify: sms body is empty")
		}
	case ChannelWebhook:
		if !p.hasText && p.hasHTML {
			return Message{}, fmt.Errorf("notify: template %q has no %s (JSON) part for webhook", s.Template, ExtText)
		}
		if body := strings.TrimSpace(p.text); body != "" {
			if err := json.Unmarshal([]byte(body), &m.Data); err != nil || m.Data == nil {
				return Message{}, fmt.Errorf("notify: webhook body must render to a JSON object: %q", clip(body, 80))
			}
		} else {
			m.Data = maps.Clone(vars)
		}
	default:
		if p.hasHTML {
			m.Body, m.HTML, m.Text = p.html, true, p.text
		} else {
			m.Body = p.text
		}
		m.Data = maps.Clone(vars)
	}
	return m, nil
}

func (r *renderer) execInline(src string, data any) (string, error) {
	t, err := r.inlineTemplate(src)
	if err != nil {
		return "", err
	}
	return execText(t, data)
}

// recipients evaluates or splits a To value.
func (r *renderer) recipients(channel, to string, vars map[string]any) ([]string, error) {
	if !isExpr(to) {
		return splitRecipients(channel, to)
	}
	p, err := r.program(to)
	if err != nil {
		return nil, err
	}
	v, err := p.Eval(vars)
	if err != nil {
		return nil, err
	}
	var out []string
	add := func(s string) error {
		list, err := splitRecipients(channel, s)
		out = append(out, list...)
		return err
	}
	switch v := v.(type) {
	case nil:
		return nil, fmt.Errorf("expression %q is nil", to)
	case string:
		err = add(v)
	case []string:
		for _, s := range v {
			if err = add(s); err != nil {
				break
			}
		}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("expression %q gave a list holding %T, want strings", to, e)
			}
			if err = add(s); err != nil {
				break
			}
		}
	default:
		return nil, fmt.Errorf("expression %q gave %T, want a string or a list of strings", to, v)
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("expression %q gave no recipients", to)
	}
	return out, nil
}

// splitRecipients splits a literal recipient list the channel's way.
func splitRecipients(channel, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	switch channel {
	case ChannelEmail:
		list, err := mail.ParseAddressList(s)
		if err != nil {
			return nil, fmt.Errorf("email address list %q: %v", s, err)
		}
		out := make([]string, len(list))
		for i, a := range list {
			if a.Name == "" {
				out[i] = a.Address
			} else {
				out[i] = a.String()
			}
		}
		return out, nil
	case ChannelWebhook:
		return strings.Fields(s), nil
	default:
		var out []string
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		return out, nil
	}
}

// oneLine makes a subject a single header-safe line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
