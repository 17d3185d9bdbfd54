package model

import (
	"regexp"
	"strings"
)

// Webhook declares an inbound HTTP endpoint, POST /hooks/{Path}, on a
// message start event, an intermediate or boundary message catch event or
// a receive task (docs/webhooks.md). A request to it is verified by Auth,
// then starts an instance at the start event (a top-level start event) or
// is delivered as the node's message. The expressions see body (the raw
// body, parsed when it is JSON), headers (lower-case names, first value),
// query (first value of each parameter) and path.
type Webhook struct {
	// Path is the endpoint below /hooks/: segments of letters, digits and
	// "._~-" separated by "/" ("github/push").
	Path string `json:"path"`
	// Auth says how a request proves it comes from the sender. Required:
	// a hook is never open.
	Auth WebhookAuth `json:"auth"`
	// CorrelationKey gives the message's key ("=body.orderId"); a literal
	// is a fixed key. Not for a start event.
	CorrelationKey string `json:"correlationKey,omitempty"`
	// BusinessKey gives a started instance's business key. Start events
	// only.
	BusinessKey string `json:"businessKey,omitempty"`
	// Variables is an expression whose object value the instance starts
	// with, or the message carries ("=body"); absent, a JSON object body is
	// taken as is.
	Variables string `json:"variables,omitempty"`
	// MessageID is an expression giving the delivery's id, which makes a
	// repeated delivery take effect once (`=headers["x-github-delivery"]`);
	// absent, the Idempotency-Key header, else the SHA-256 of the body.
	MessageID string `json:"messageId,omitempty"`
	// TimeToLive, on a catch, keeps a message nothing waits for yet for a
	// catch that opens within it (an ISO 8601 duration); absent, such a
	// request is answered 404. It also lets a repeat of a delivery that
	// was taken be recognised after its receiver moved on.
	TimeToLive string `json:"timeToLive,omitempty"`
}

// WebhookAuth is a webhook's verification. The secret is named, never
// written: the server's administrator configures its value.
type WebhookAuth struct {
	// Kind is "hmac" (a signature of the raw body) or "token" (a shared
	// token in a header).
	Kind string `json:"kind"`
	// Secret is the name of a webhook secret the administrator configured.
	Secret string `json:"secret"`
	// Header carries the signature or the token. Default: hmac
	// "X-Signature-256", token "Authorization".
	Header string `json:"header,omitempty"`
	// Prefix is written before the signature or token in the header
	// ("sha256=", "Bearer ").
	Prefix string `json:"prefix,omitempty"`
	// Algorithm of an hmac: "sha256" (default), "sha1" or "sha512".
	Algorithm string `json:"algorithm,omitempty"`
	// Encoding of an hmac signature: "hex" (default) or "base64".
	Encoding string `json:"encoding,omitempty"`
	// TimestampHeader, for hmac, names a header with the sending time in
	// Unix seconds; the signature then covers "{timestamp}.{body}", and a
	// request outside Tolerance of the server's clock is refused.
	TimestampHeader string `json:"timestampHeader,omitempty"`
	// Tolerance is an ISO 8601 duration (default PT5M).
	Tolerance string `json:"tolerance,omitempty"`
}

// Webhook auth kinds.
const (
	WebhookHMAC  = "hmac"
	WebhookToken = "token"
)

// DefaultWebhookTolerance is WebhookAuth.Tolerance's default.
const DefaultWebhookTolerance = "PT5M"

var (
	webhookPath   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9][A-Za-z0-9._~-]*)*$`)
	secretName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	headerName    = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	maxWebhookLen = 200
)

// ValidSecretName reports whether s has the form of a webhook secret
// name (letters, digits, "_.-"; at most 64).
func ValidSecretName(s string) bool { return secretName.MatchString(s) }

// HeaderName returns the header that carries the signature or token.
func (a *WebhookAuth) HeaderName() string {
	switch {
	case a.Header != "":
		return a.Header
	case a.Kind == WebhookToken:
		return "Authorization"
	}
	return "X-Signature-256"
}

// IsWebhookStart reports whether a webhook on n starts instances (a top-level
// start event) rather than delivering n's message.
func (n *Node) IsWebhookStart() bool { return n.Type == StartEvent && n.Parent == "" }

// webhookEnd checks and compiles a node's webhook; paths records the
// paths seen so far in the definition.
func (b *builder) webhookEnd(n *Node, paths map[string]string) {
	if n.Event == nil || n.Event.Webhook == nil {
		return
	}
	h := n.Event.Webhook
	catch := n.Type == ReceiveTask || (n.EventKind() == EventMessage &&
		(n.Type == StartEvent || n.Type == IntermediateCatchEvent || n.Type == BoundaryEvent))
	if !catch {
		b.errf(n.Line, n.ID, "event.webhook", "only a message catch (start, intermediate or boundary message event, receive task) can take a webhook; this is a %s", describeEnd(n))
	}
	switch {
	case h.Path == "":
		b.errf(n.Line, n.ID, "event.webhook.path", "no path (the endpoint is /hooks/{path})")
	case len(h.Path) > maxWebhookLen:
		b.errf(n.Line, n.ID, "event.webhook.path", "path is %d bytes; the limit is %d", len(h.Path), maxWebhookLen)
	case !webhookPath.MatchString(h.Path):
		b.errf(n.Line, n.ID, "event.webhook.path", "%q is not a webhook path (segments of letters, digits and '._~-' separated by '/', no leading '/')", h.Path)
	case paths[h.Path] != "":
		b.errf(n.Line, n.ID, "event.webhook.path", "path %q is already the webhook of node %q", h.Path, paths[h.Path])
	default:
		paths[h.Path] = n.ID
	}
	b.webhookAuth(n, &h.Auth)
	if n.IsWebhookStart() {
		if h.CorrelationKey != "" {
			b.errf(n.Line, n.ID, "event.webhook.correlationKey", "a start event's webhook starts an instance; it has no correlation key")
		}
		if h.TimeToLive != "" {
			b.errf(n.Line, n.ID, "event.webhook.timeToLive", "a start event's webhook starts an instance; nothing is kept for later")
		}
	} else if h.BusinessKey != "" {
		b.errf(n.Line, n.ID, "event.webhook.businessKey", "only a start event's webhook gives a business key")
	}
	if h.TimeToLive != "" {
		if d, err := ParseDuration(h.TimeToLive); err != nil || d <= 0 {
			b.errf(n.Line, n.ID, "event.webhook.timeToLive", "%q is not a positive ISO 8601 duration", h.TimeToLive)
		}
	}
	for _, f := range [...]struct{ key, field, src string }{
		{"webhook:correlationKey", "correlationKey", h.CorrelationKey}, {"webhook:businessKey", "businessKey", h.BusinessKey},
		{"webhook:variables", "variables", h.Variables}, {"webhook:messageId", "messageId", h.MessageID},
	} {
		if f.src == "" {
			continue
		}
		if !IsExpression(f.src) {
			if f.field == "correlationKey" || f.field == "businessKey" {
				continue // a literal
			}
			b.errf(n.Line, n.ID, "event.webhook."+f.field, "%q is not an expression (write \"=body.id\" or \"${body.id}\")", f.src)
			continue
		}
		n.setExpr(f.key, b.compileExpr(n, n.Line, n.ID, "event.webhook."+f.field, f.src))
	}
}

func (b *builder) webhookAuth(n *Node, a *WebhookAuth) {
	const f = "event.webhook.auth"
	switch a.Kind {
	case WebhookHMAC, WebhookToken:
	case "":
		b.errf(n.Line, n.ID, f+".kind", "no kind: a webhook is verified by \"hmac\" or \"token\"")
	default:
		b.errf(n.Line, n.ID, f+".kind", "%q is not a webhook auth kind (hmac or token)", a.Kind)
	}
	switch {
	case a.Secret == "":
		b.errf(n.Line, n.ID, f+".secret", "no secret named (the name of a webhook secret the administrator configured)")
	case !secretName.MatchString(a.Secret):
		b.errf(n.Line, n.ID, f+".secret", "%q is not a secret name (letters, digits, '_', '.', '-'; at most 64)", a.Secret)
	}
	if a.Header != "" && !headerName.MatchString(a.Header) {
		b.errf(n.Line, n.ID, f+".header", "%q is not an HTTP header name", a.Header)
	}
	if strings.ContainsFunc(a.Prefix, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		b.errf(n.Line, n.ID, f+".prefix", "the prefix holds a character that is not printable ASCII")
	}
	if a.Kind == WebhookToken {
		if a.Algorithm != "" || a.Encoding != "" || a.TimestampHeader != "" || a.Tolerance != "" {
			b.errf(n.Line, n.ID, f, "algorithm, encoding, timestampHeader and tolerance are for kind \"hmac\"")
		}
		return
	}
	switch a.Algorithm {
	case "", "sha256", "sha1", "sha512":
	default:
		b.errf(n.Line, n.ID, f+".algorithm", "%q is not an HMAC algorithm (sha256, sha1 or sha512)", a.Algorithm)
	}
	switch a.Encoding {
	case "", "hex", "base64":
	default:
		b.errf(n.Line, n.ID, f+".encoding", "%q is not a signature encoding (hex or base64)", a.Encoding)
	}
	if a.TimestampHeader != "" && !headerName.MatchString(a.TimestampHeader) {
		b.errf(n.Line, n.ID, f+".timestampHeader", "%q is not an HTTP header name", a.TimestampHeader)
	}
	if a.Tolerance != "" {
		if a.TimestampHeader == "" {
			b.errf(n.Line, n.ID, f+".tolerance", "a tolerance needs a timestampHeader")
		} else if d, err := ParseDuration(a.Tolerance); err != nil || d <= 0 {
			b.errf(n.Line, n.ID, f+".tolerance", "%q is not a positive ISO 8601 duration", a.Tolerance)
		}
	}
}

// WebhookEndpoint is one webhook a definition declares.
type WebhookEndpoint struct {
	Node    *Node
	Webhook *Webhook
}

// Webhooks lists the definition's webhooks in document order.
func (d *Definition) Webhooks() []WebhookEndpoint {
	var out []WebhookEndpoint
	for _, n := range d.Nodes {
		if n.Event != nil && n.Event.Webhook != nil {
			out = append(out, WebhookEndpoint{Node: n, Webhook: n.Event.Webhook})
		}
	}
	return out
}
