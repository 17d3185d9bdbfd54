package broker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/batonhq/baton/internal/runner"
)

// work publishes the message of a send task or message throw event with a
// broker sink. The job was written in the transition that reached the
// node, so nothing is sent for a transition that did not commit; its id
// is the message id on every attempt, so a copy sent again after a crash
// (published, but the job not yet completed) can be dropped by id.
func (m *Manager) work(ctx context.Context, j *runner.Job) (map[string]any, error) {
	if j.Node == nil || j.Node.Event == nil || j.Node.Event.Sink == nil {
		return nil, runner.Permanent(fmt.Errorf("job %s: node has no broker sink", j.ID))
	}
	sink := j.Node.Event.Sink
	c := m.conns[sink.Broker]
	if c == nil {
		return nil, runner.Permanent(fmt.Errorf("node %s publishes to broker %q, which is not configured (configured: %v)", j.Node.ID, sink.Broker, m.Names()))
	}
	body, err := m.body(j)
	if err != nil {
		return nil, runner.Permanent(err)
	}
	sess, err := c.session()
	if err != nil {
		m.obs.BrokerMessageOut(c.Name, "error")
		return nil, err
	}
	out := Outgoing{ID: j.ID, Body: body, ContentType: "application/json", Headers: map[string]string{
		"baton-message-name": j.Node.MessageName(), "baton-instance-id": j.InstanceID, "baton-node-id": j.Node.ID}}
	if err := sess.Publish(ctx, sink.Destination, out); err != nil {
		m.obs.BrokerMessageOut(c.Name, "error")
		m.obs.BrokerError(c.Name, "publish")
		return nil, fmt.Errorf("publish to %s %q: %w", c.Name, sink.Destination, err)
	}
	m.obs.BrokerMessageOut(c.Name, "sent")
	return nil, nil
}

// body is the JSON body of a sink's message: its body expression's
// value; else the node's input mapping targets; else every variable.
func (m *Manager) body(j *runner.Job) ([]byte, error) {
	n := j.Node
	var v any
	switch p := n.Expr("sink:body"); {
	case p != nil:
		val, err := p.EvalAt(j.Variables, m.r.Clock().Now())
		if err != nil {
			return nil, fmt.Errorf("node %s: event.sink.body: %w", n.ID, err)
		}
		v = val
	case len(n.Inputs) > 0:
		obj := make(map[string]any, len(n.Inputs))
		for _, in := range n.Inputs {
			obj[in.Target] = j.Variables[in.Target]
		}
		v = obj
	default:
		v = j.Variables
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("node %s: message body is not JSON: %w", n.ID, err)
	}
	return b, nil
}
