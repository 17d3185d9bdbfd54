package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/broker"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/testkit"
)

type noDial struct{}

func (noDial) Dial(context.Context) (broker.Session, error) {
	return nil, errors.New("not dialled in this test")
}

// TestDeployRefusesUnknownBroker: with brokers configured, deploying a
// definition whose source or sink names another broker is refused with
// the node named; one naming a configured broker deploys.
func TestDeployRefusesUnknownBroker(t *testing.T) {
	r := runner.New(runner.Config{Store: testkit.SQLite(t)})
	mgr, err := broker.New(broker.Config{Runner: r, Connections: []broker.Connection{{Name: "rmq", Kind: "amqp", Dialer: noDial{}}}})
	if err != nil {
		t.Fatal(err)
	}
	r.AddDeployCheck(mgr.CheckDefinition)
	doc := func(in, out string) string {
		return `{"id": "b", "nodes": [
		 {"id": "s", "type": "startEvent", "event": {"kind": "message", "name": "m", "source": {"broker": "` + in + `", "destination": "q"}}},
		 {"id": "tell", "type": "sendTask", "event": {"kind": "message", "name": "n", "sink": {"broker": "` + out + `", "destination": "q2"}}},
		 {"id": "e", "type": "endEvent"}],
		 "edges": [{"id": "f1", "source": "s", "target": "tell"}, {"id": "f2", "source": "tell", "target": "e"}]}`
	}
	ctx := context.Background()
	_, _, err = r.Deploy(ctx, "b.json", []byte(doc("rmq", "kafka")), "test")
	var ve *model.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].NodeID != "tell" || ve.Problems[0].Field != "event.sink.broker" ||
		!strings.Contains(ve.Problems[0].Message, `no broker "kafka" is configured`) {
		t.Fatalf("deploy naming broker kafka: %v, want one problem at node tell, event.sink.broker", err)
	}
	_, _, err = r.Deploy(ctx, "b.json", []byte(doc("nats1", "rmq")), "test")
	if !errors.As(err, &ve) || ve.Problems[0].NodeID != "s" || ve.Problems[0].Field != "event.source.broker" {
		t.Fatalf("deploy naming broker nats1: %v, want a problem at node s", err)
	}
	if _, created, err := r.Deploy(ctx, "b.json", []byte(doc("rmq", "rmq")), "test"); err != nil || !created {
		t.Fatalf("deploy naming the configured broker: created %v, %v", created, err)
	}
}
