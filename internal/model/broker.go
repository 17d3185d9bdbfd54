package model

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// BrokerSource subscribes a message catch (a message start event, an
// intermediate or boundary message catch event, a receive task) to a
// destination of a message broker the server's administrator configured
// (docs/brokers.md). Each message that arrives there is published to the
// engine under the event's message name. The expressions are evaluated
// over the broker message: body (the payload, parsed when it is JSON),
// headers, messageId (the broker's id, "" when it has none), broker and
// destination.
type BrokerSource struct {
	// Broker is the name of a configured broker connection.
	Broker string `json:"broker"`
	// Destination is what to consume: an AMQP queue, a NATS subject
	// (held by a JetStream stream) or an MQTT topic filter.
	Destination string `json:"destination"`
	// CorrelationKey gives the message's key ("=body.orderId"); a literal
	// is a fixed key; "" sends the message without one.
	CorrelationKey string `json:"correlationKey,omitempty"`
	// Variables is an expression whose object value the message carries
	// ("=body"); absent, a JSON object body is carried as is.
	Variables string `json:"variables,omitempty"`
	// MessageID is an expression giving the id that makes delivery
	// exactly-once ("=headers.id"); absent, the broker's message id, or a
	// hash of the content when the broker gives none.
	MessageID string `json:"messageId,omitempty"`
}

// BrokerSink publishes the message of a message throw event (intermediate
// or end) or a send task to a broker destination. The node waits until the
// broker has accepted the message, as for a throw event with a task type.
type BrokerSink struct {
	Broker string `json:"broker"`
	// Destination is where to publish: an AMQP routing key on the default
	// exchange, or "exchange/routing-key"; a NATS subject; an MQTT topic.
	Destination string `json:"destination"`
	// Body is an expression over the variables (and the node's inputs)
	// whose value is the message body, JSON-encoded; absent, the body is
	// the object of the node's input mapping targets, or of every
	// variable when it has no inputs.
	Body string `json:"body,omitempty"`
}

// brokerName is the form of a broker connection name.
var brokerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// maxDestination bounds a destination's length (AMQP queue names and MQTT
// topics are both limited; NATS subjects have no firm bound).
const maxDestination = 255

// brokerEnds checks and compiles a node's broker source and sink.
func (b *builder) brokerEnds(n *Node) {
	if n.Event == nil || (n.Event.Source == nil && n.Event.Sink == nil) {
		return
	}
	if s := n.Event.Source; s != nil {
		catch := n.Type == ReceiveTask || (n.EventKind() == EventMessage &&
			(n.Type == StartEvent || n.Type == IntermediateCatchEvent || n.Type == BoundaryEvent))
		if !catch {
			b.errf(n.Line, n.ID, "event.source", "only a message catch (start, intermediate or boundary message event, receive task) can subscribe to a broker; this is a %s", describeEnd(n))
		}
		b.brokerAddress(n, "event.source", s.Broker, s.Destination)
		if IsExpression(s.CorrelationKey) {
			n.setExpr("source:correlationKey", b.compileExpr(n, n.Line, n.ID, "event.source.correlationKey", s.CorrelationKey))
		}
		for _, f := range [...]struct{ key, field, src string }{{"source:variables", "variables", s.Variables}, {"source:messageId", "messageId", s.MessageID}} {
			if f.src == "" {
				continue
			}
			if !IsExpression(f.src) {
				b.errf(n.Line, n.ID, "event.source."+f.field, "%q is not an expression (write \"=body.id\" or \"${body.id}\")", f.src)
				continue
			}
			n.setExpr(f.key, b.compileExpr(n, n.Line, n.ID, "event.source."+f.field, f.src))
		}
	}
	if s := n.Event.Sink; s != nil {
		throw := n.Type == SendTask || (n.EventKind() == EventMessage && (n.Type == IntermediateThrowEvent || n.Type == EndEvent))
		switch {
		case !throw:
			b.errf(n.Line, n.ID, "event.sink", "only a message throw event (intermediate or end) or a send task can publish to a broker; this is a %s", describeEnd(n))
		case n.TaskType != "":
			b.errf(n.Line, n.ID, "event.sink", "a node publishes to a broker or is work for a worker of taskType %q, not both", n.TaskType)
		case n.Notify != nil:
			b.errf(n.Line, n.ID, "event.sink", "a send task publishes to a broker or sends a notification (notify), not both")
		}
		b.brokerAddress(n, "event.sink", s.Broker, s.Destination)
		if s.Body != "" {
			if !IsExpression(s.Body) {
				b.errf(n.Line, n.ID, "event.sink.body", "%q is not an expression (write \"=order\" or \"${order}\")", s.Body)
			} else {
				n.setExpr("sink:body", b.compileExpr(n, n.Line, n.ID, "event.sink.body", s.Body))
			}
		}
	}
}

func describeEnd(n *Node) string {
	if k := n.EventKind(); k != EventNone {
		return fmt.Sprintf("%s %s", k, n.Type)
	}
	return string(n.Type)
}

func (b *builder) brokerAddress(n *Node, field, broker, dest string) {
	switch {
	case broker == "":
		b.errf(n.Line, n.ID, field+".broker", "no broker named (the name of a connection the administrator configured)")
	case !brokerName.MatchString(broker):
		b.errf(n.Line, n.ID, field+".broker", "%q is not a broker name (letters, digits, '_', '.', '-'; at most 64)", broker)
	}
	switch {
	case strings.TrimSpace(dest) == "":
		b.errf(n.Line, n.ID, field+".destination", "no destination (a queue, subject or topic)")
	case len(dest) > maxDestination:
		b.errf(n.Line, n.ID, field+".destination", "destination is %d bytes; the limit is %d", len(dest), maxDestination)
	case strings.ContainsFunc(dest, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		b.errf(n.Line, n.ID, field+".destination", "destination %q holds a space or control character", dest)
	}
}

// BrokerEndpoint is one broker destination a definition subscribes to.
type BrokerEndpoint struct {
	Node   *Node
	Source *BrokerSource
}

// BrokerSources lists the definition's message catches that subscribe to
// a broker, in document order.
func (d *Definition) BrokerSources() []BrokerEndpoint {
	var out []BrokerEndpoint
	for _, n := range d.Nodes {
		if n.Event != nil && n.Event.Source != nil {
			out = append(out, BrokerEndpoint{Node: n, Source: n.Event.Source})
		}
	}
	return out
}

// MessageName is the name of the message a node catches or throws: its
// event's name, or for a receive or send task without one, its id.
func (n *Node) MessageName() string {
	if n.Event != nil && n.Event.Name != "" {
		return n.Event.Name
	}
	return n.ID
}
