package metrics

import "github.com/prometheus/client_golang/prometheus"

// Brokers measures the message broker connections (internal/broker's
// Observer).
type Brokers struct {
	connected   *prometheus.GaugeVec
	in, out     *prometheus.CounterVec
	redelivered *prometheus.CounterVec
	errors      *prometheus.CounterVec
}

// Brokers registers the broker metrics (once) and returns their observer.
func (m *Metrics) Brokers() *Brokers {
	m.brokersOnce.Do(func() {
		b := &Brokers{
			connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "baton_broker_connected",
				Help: "1 while the broker connection is up, 0 while it is down (reconnecting with backoff)."}, []string{"broker", "kind"}),
			in: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_broker_messages_in_total",
				Help: "Broker messages handed to the engine, by outcome (delivered, duplicate, buffered, dropped, rejected, error)."}, []string{"broker", "outcome"}),
			out: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_broker_messages_out_total",
				Help: "Messages published to brokers, by outcome (sent, error)."}, []string{"broker", "outcome"}),
			redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_broker_redeliveries_total",
				Help: "Broker messages the broker marked as delivered before."}, []string{"broker"}),
			errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_broker_errors_total",
				Help: "Broker failures by operation (connect, consume, publish, ack, requeue, reject)."}, []string{"broker", "op"}),
		}
		m.reg.MustRegister(b.connected, b.in, b.out, b.redelivered, b.errors)
		m.brokers = b
	})
	return m.brokers
}

// BrokerConnected sets the connection gauge.
func (b *Brokers) BrokerConnected(broker, kind string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	b.connected.WithLabelValues(broker, kind).Set(v)
}

// BrokerMessageIn counts a received message.
func (b *Brokers) BrokerMessageIn(broker, outcome string) {
	b.in.WithLabelValues(broker, outcome).Inc()
}

// BrokerMessageOut counts a publish.
func (b *Brokers) BrokerMessageOut(broker, outcome string) {
	b.out.WithLabelValues(broker, outcome).Inc()
}

// BrokerRedelivered counts a redelivery.
func (b *Brokers) BrokerRedelivered(broker string) { b.redelivered.WithLabelValues(broker).Inc() }

// BrokerError counts a failure.
func (b *Brokers) BrokerError(broker, op string) { b.errors.WithLabelValues(broker, op).Inc() }

// Webhooks counts inbound webhook requests (internal/rest's
// WebhookObserver).
type Webhooks struct {
	requests *prometheus.CounterVec
}

// Webhooks registers the webhook metric (once) and returns its observer.
func (m *Metrics) Webhooks() *Webhooks {
	m.webhooksOnce.Do(func() {
		m.webhooks = &Webhooks{requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_webhook_requests_total",
			Help: "Inbound webhook requests by path ((unknown) for a path no definition declares) and outcome (started, correlated, duplicate, conflict, no_receiver, unauthorized, bad_request, too_large, not_found, unconfigured, error)."},
			[]string{"path", "outcome"})}
		m.reg.MustRegister(m.webhooks.requests)
	})
	return m.webhooks
}

// WebhookRequest counts one request.
func (w *Webhooks) WebhookRequest(path, outcome string) {
	w.requests.WithLabelValues(path, outcome).Inc()
}
