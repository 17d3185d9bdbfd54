package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/broker"
	"github.com/batonhq/baton/internal/broker/amqp"
	"github.com/batonhq/baton/internal/broker/mqtt"
	"github.com/batonhq/baton/internal/broker/nats"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testkit"
)

// peer is the far side of one broker in a test: it publishes the inbound
// messages and collects what Baton published.
type peer struct {
	kind   string
	dialer broker.Dialer
	// in and shipped are inbound destinations, out is where Baton
	// publishes.
	in, shipped, out string
	// publish sends body to dest; id is the broker message id where the
	// protocol has one ("" for none).
	publish func(t *testing.T, dest, id string, body []byte)
	// received returns the messages Baton published to out so far:
	// message id → bodies.
	received func() map[string][]string
}

// reachable skips the test, visibly, when no broker listens on addr.
func reachable(t *testing.T, what, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Skipf("SKIP: %s is not reachable on %s: %v", what, addr, err)
	}
	c.Close()
}

func suffix() string { return fmt.Sprintf("%d%04d", time.Now().UnixNano()%1e9, rand.IntN(10000)) }

type collector struct {
	mu  sync.Mutex
	got map[string][]string
}

func (c *collector) add(id string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string][]string{}
	}
	c.got[id] = append(c.got[id], string(body))
}

func (c *collector) snapshot() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]string{}
	for k, v := range c.got {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// observer counts broker measurements.
type observer struct {
	mu      sync.Mutex
	in, out map[string]int
	errs    map[string]int
}

func newObserver() *observer {
	return &observer{in: map[string]int{}, out: map[string]int{}, errs: map[string]int{}}
}

func (o *observer) BrokerConnected(string, string, bool) {}
func (o *observer) BrokerRedelivered(string)             {}
func (o *observer) BrokerMessageIn(_, outcome string)    { o.mu.Lock(); o.in[outcome]++; o.mu.Unlock() }
func (o *observer) BrokerMessageOut(_, outcome string)   { o.mu.Lock(); o.out[outcome]++; o.mu.Unlock() }
func (o *observer) BrokerError(_, op string)             { o.mu.Lock(); o.errs[op]++; o.mu.Unlock() }

func (o *observer) count(outcome string) int { o.mu.Lock(); defer o.mu.Unlock(); return o.in[outcome] }
func (o *observer) sent() int                { o.mu.Lock(); defer o.mu.Unlock(); return o.out["sent"] }
func (o *observer) total() (n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.in {
		n += v
	}
	return n
}
func (o *observer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return fmt.Sprintf("in %v out %v errors %v", o.in, o.out, o.errs)
}

// workflow is the order flow of a test: a message start event fed by the
// broker, a message catch fed by the broker, a send task publishing to
// it, and a message end event publishing to it too.
func workflow(id string, p *peer) string {
	return `{"id":"` + id + `","nodes":[
 {"id":"start","type":"startEvent","event":{"kind":"message","name":"` + id + `-paid",
   "source":{"broker":"b","destination":"` + p.in + `","correlationKey":"=body.orderId"}}},
 {"id":"shipped","type":"intermediateCatchEvent","event":{"kind":"message","name":"` + id + `-shipped","correlationKey":"=orderId",
   "source":{"broker":"b","destination":"` + p.shipped + `","correlationKey":"=body.orderId","variables":"={carrier: body.carrier}"}}},
 {"id":"tell","type":"sendTask","inputs":[{"source":"=orderId","target":"orderId"},{"source":"=carrier","target":"carrier"}],
   "event":{"kind":"message","name":"order-shipped","sink":{"broker":"b","destination":"` + p.out + `"}}},
 {"id":"end","type":"endEvent","event":{"kind":"message","name":"order-done",
   "sink":{"broker":"b","destination":"` + p.out + `","body":"={orderId: orderId, done: true}"}}}],
 "edges":[{"id":"f1","source":"start","target":"shipped"},{"id":"f2","source":"shipped","target":"tell"},{"id":"f3","source":"tell","target":"end"}]}`
}

func TestAMQPEndToEnd(t *testing.T) { endToEnd(t, amqpSetup(t)) }
func TestNATSEndToEnd(t *testing.T) { endToEnd(t, natsSetup(t)) }
func TestMQTTEndToEnd(t *testing.T) { endToEnd(t, mqttSetup(t)) }

func endToEnd(t *testing.T, p *peer) {
	st := testkit.SQLite(t)
	obs := newObserver()
	var mgr *broker.Manager
	r := testkit.Runner(t, runner.Config{Store: st}, func(r *runner.Runner) {
		var err error
		mgr, err = broker.New(broker.Config{Runner: r, Observer: obs, Refresh: 50 * time.Millisecond,
			Connections: []broker.Connection{{Name: "b", Kind: p.kind, Dialer: p.dialer, MessageTTL: time.Minute}}})
		if err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	def := "orders-" + p.kind + "-" + suffix()
	if _, _, err := r.Deploy(ctx, def+".json", []byte(workflow(def, p)), "test"); err != nil {
		t.Fatal(err)
	}
	mgr.Start(ctx)
	t.Cleanup(mgr.Stop)
	if !testkit.Eventually(t, 10*time.Second, func() bool { return mgr.Connected("b") }) {
		t.Fatalf("broker never connected: %s", obs)
	}
	time.Sleep(300 * time.Millisecond) // consumers subscribe after the first route refresh

	const orders = 5
	for i := range orders {
		body := fmt.Sprintf(`{"orderId":"o-%d","amount":%d}`, i, 10*i)
		p.publish(t, p.in, fmt.Sprintf("paid-%d", i), []byte(body))
	}
	// The first message again, with its id (a broker redelivering it, or
	// a producer retrying): its effect must not happen twice.
	p.publish(t, p.in, "paid-0", []byte(`{"orderId":"o-0","amount":0}`))

	instances := func() []store.InstanceRow {
		rows, err := st.Instances(ctx, store.InstanceFilter{DefinitionID: def})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	if !testkit.Eventually(t, 15*time.Second, func() bool { return len(instances()) >= orders && obs.total() >= orders+1 }) {
		t.Fatalf("%d instances started, want %d; %s", len(instances()), orders, obs)
	}
	for i := range orders {
		p.publish(t, p.shipped, fmt.Sprintf("ship-%d", i), []byte(fmt.Sprintf(`{"orderId":"o-%d","carrier":"c%d"}`, i, i)))
	}
	if !testkit.Eventually(t, 15*time.Second, func() bool {
		n := 0
		for _, row := range instances() {
			if row.Status == string(engine.StatusCompleted) {
				n++
			}
		}
		return n == orders
	}) {
		t.Fatalf("not every instance completed: %+v; %s", instances(), obs)
	}
	if got := len(instances()); got != orders {
		t.Errorf("%d instances, want %d (a duplicate message started one)", got, orders)
	}
	if got := obs.count("duplicate"); got != 1 {
		t.Errorf("duplicates deduplicated = %d, want 1; %s", got, obs)
	}
	// Two messages out per order: the send task's and the end event's.
	if !testkit.Eventually(t, 10*time.Second, func() bool { return len(p.received()) >= 2*orders }) {
		t.Fatalf("received %d distinct messages, want %d: %v", len(p.received()), 2*orders, p.received())
	}
	carriers := map[string]bool{}
	for id, bodies := range p.received() {
		if id == "" {
			t.Errorf("a message without an id: %v", bodies)
		}
		var b map[string]any
		if err := json.Unmarshal([]byte(bodies[0]), &b); err != nil {
			t.Fatalf("body %q: %v", bodies[0], err)
		}
		if c, ok := b["carrier"].(string); ok {
			carriers[c+"/"+b["orderId"].(string)] = true
		} else if b["done"] != true {
			t.Errorf("end event body %v, want done: true", b)
		}
	}
	if len(carriers) != orders || !carriers["c3/o-3"] {
		t.Errorf("send task bodies carried %v, want the carrier of each order", carriers)
	}
	if got := obs.sent(); got != 2*orders {
		t.Errorf("sent %d, want %d; %s", got, 2*orders, obs)
	}
	t.Logf("%s: messages in %d (%v), out %d, duplicates in effect 0", p.kind, obs.total(), obs.String(), obs.sent())
}

// side is the far side of a broker (peers_test.go).
type side interface {
	publish(t *testing.T, dest, id string, body []byte)
	consume(t *testing.T, dest string, c *collector)
}

// wire connects p to its far side s, collecting what Baton publishes.
func (p *peer) wire(t *testing.T, s side) *peer {
	p.publish = s.publish
	c := &collector{}
	s.consume(t, p.out, c)
	p.received = c.snapshot
	return p
}

func amqpSetup(t *testing.T) *peer {
	reachable(t, "RabbitMQ", "127.0.0.1:5672")
	d, err := amqp.New(amqp.Config{URL: "amqp://127.0.0.1:5672/", Username: "guest", Password: "guest"})
	if err != nil {
		t.Fatal(err)
	}
	s := suffix()
	p := &peer{kind: broker.KindAMQP, dialer: d, in: "baton-test-in-" + s, shipped: "baton-test-shipped-" + s, out: "baton-test-out-" + s}
	ap := newAMQPPeer(t)
	for _, q := range []string{p.in, p.shipped, p.out} {
		ap.declare(t, q)
	}
	return p.wire(t, ap)
}

func natsSetup(t *testing.T) *peer {
	reachable(t, "NATS", "127.0.0.1:4222")
	d, err := nats.New(nats.Config{URL: "nats://127.0.0.1:4222", AckWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := suffix()
	prefix := "batontest" + s
	p := &peer{kind: broker.KindNATS, dialer: d, in: prefix + ".in", shipped: prefix + ".shipped", out: prefix + ".out"}
	np := newNATSPeer(t, prefix)
	return p.wire(t, np)
}

func mqttSetup(t *testing.T) *peer {
	reachable(t, "Mosquitto", "127.0.0.1:1883")
	s := suffix()
	d, err := mqtt.New(mqtt.Config{URL: "tcp://127.0.0.1:1883", ClientID: "baton-test-" + s})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{kind: broker.KindMQTT, dialer: d, in: "baton/test/" + s + "/in", shipped: "baton/test/" + s + "/shipped", out: "baton/test/" + s + "/out"}
	mp := newMQTTPeer(t, "baton-peer-"+s)
	return p.wire(t, mp)
}

func TestMQTTMatch(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true}, {"a/b", "a/c", false}, {"a/+/c", "a/x/c", true}, {"a/#", "a/x/y", true},
		{"a/+", "a/x/y", false}, {"a/b/c", "a/b", false}, {"#", "x", true},
	} {
		if got := mqtt.Match(c.filter, c.topic); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}
