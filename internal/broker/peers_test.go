package broker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/batonhq/baton/internal/broker"
)

// The far side of each broker, written with the same client libraries.

type amqpPeer struct {
	conn *amqp.Connection
	ch   *amqp.Channel
}

func newAMQPPeer(t *testing.T) *amqpPeer {
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	p := &amqpPeer{conn: conn, ch: ch}
	t.Cleanup(func() { conn.Close() })
	return p
}

func (p *amqpPeer) declare(t *testing.T, q string) {
	if _, err := p.ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ch, err := p.conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
	})
}

func (p *amqpPeer) publish(t *testing.T, dest, id string, body []byte) {
	t.Helper()
	err := p.ch.PublishWithContext(context.Background(), "", dest, false, false,
		amqp.Publishing{MessageId: id, ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body})
	if err != nil {
		t.Fatal(err)
	}
}

func (p *amqpPeer) consume(t *testing.T, q string, c *collector) {
	ch, err := p.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ch.Consume(q, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range msgs {
			c.add(m.MessageId, m.Body)
		}
	}()
}

type natsPeer struct {
	nc *natsgo.Conn
	js jetstream.JetStream
}

// newNATSPeer makes a stream holding prefix.> (deleted at the end).
func newNATSPeer(t *testing.T, prefix string) *natsPeer {
	nc, err := natsgo.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: prefix, Subjects: []string{prefix + ".>"}, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = js.DeleteStream(context.Background(), prefix)
		nc.Close()
	})
	return &natsPeer{nc: nc, js: js}
}

// publish sends without Nats-Msg-Id but with an id header: the stream
// would drop a copy with the same Nats-Msg-Id itself, and the test wants
// Baton to see the copy.
func (p *natsPeer) publish(t *testing.T, dest, id string, body []byte) {
	t.Helper()
	m := natsgo.NewMsg(dest)
	m.Data = body
	m.Header.Set("Nats-Msg-Id-Test", id)
	if _, err := p.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func (p *natsPeer) consume(t *testing.T, subject string, c *collector) {
	sub, err := p.nc.Subscribe(subject, func(m *natsgo.Msg) { c.add(m.Header.Get(natsgo.MsgIdHdr), m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
}

type mqttPeer struct{ c paho.Client }

func newMQTTPeer(t *testing.T, id string) *mqttPeer {
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://127.0.0.1:1883").SetClientID(id).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &mqttPeer{c: c}
}

// publish sends body at QoS 1; MQTT 3.1.1 has no message id, so two
// messages with the same body are one message to Baton (a content hash).
func (p *mqttPeer) publish(t *testing.T, dest, _ string, body []byte) {
	t.Helper()
	if tok := p.c.Publish(dest, 1, false, body); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt publish: %v", tok.Error())
	}
}

func (p *mqttPeer) consume(t *testing.T, topic string, c *collector) {
	tok := p.c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		var b map[string]any
		_ = json.Unmarshal(m.Payload(), &b)
		id, _ := b[broker.PayloadIDField].(string)
		c.add(id, m.Payload())
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt subscribe: %v", tok.Error())
	}
}
