package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/batonhq/baton/internal/broker"
	"github.com/batonhq/baton/internal/broker/amqp"
	"github.com/batonhq/baton/internal/broker/mqtt"
	"github.com/batonhq/baton/internal/broker/nats"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/runner"
)

// brokersFile is the broker configuration file (docs/brokers.md). Secrets
// are never written in it: fields ending in "Env" name the environment
// variable that holds them.
type brokersFile struct {
	Brokers []brokerEntry `json:"brokers"`
}

type brokerEntry struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	URL         string `json:"url"`
	Username    string `json:"username,omitempty"`
	UsernameEnv string `json:"usernameEnv,omitempty"`
	PasswordEnv string `json:"passwordEnv,omitempty"`
	TokenEnv    string `json:"tokenEnv,omitempty"` // NATS
	// MessageTTL buffers a message nothing waits for yet ("1h"; "0s"
	// drops it); default: --thrown-message-ttl.
	MessageTTL string `json:"messageTTL,omitempty"`
	Prefetch   int    `json:"prefetch,omitempty"` // AMQP, NATS: unacknowledged messages per consumer
	AckWait    string `json:"ackWait,omitempty"`  // NATS: redelivery after this long without an ack
	ClientID   string `json:"clientId,omitempty"` // MQTT: the persistent session's client id
}

// readBrokers reads the broker configuration file path ("" for none) and
// builds its connections, taking secrets from the environment.
func readBrokers(path string, defaultTTL time.Duration) ([]broker.Connection, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f brokersFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []broker.Connection
	for i, e := range f.Brokers {
		c, err := e.connection(defaultTTL)
		if err != nil {
			return nil, fmt.Errorf("%s: brokers[%d] (%q): %w", path, i, e.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (e brokerEntry) secret(field, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("%s: environment variable %s is not set", field, name)
	}
	return v, nil
}

func (e brokerEntry) connection(defaultTTL time.Duration) (broker.Connection, error) {
	c := broker.Connection{Name: e.Name, Kind: e.Kind, MessageTTL: defaultTTL}
	if e.MessageTTL != "" {
		d, err := time.ParseDuration(e.MessageTTL)
		if err != nil || d < 0 {
			return c, fmt.Errorf("messageTTL: %q is not a duration (\"1h\", \"0s\")", e.MessageTTL)
		}
		c.MessageTTL = d
	}
	user := e.Username
	if e.UsernameEnv != "" {
		v, err := e.secret("usernameEnv", e.UsernameEnv)
		if err != nil {
			return c, err
		}
		user = v
	}
	pass, err := e.secret("passwordEnv", e.PasswordEnv)
	if err != nil {
		return c, err
	}
	if e.URL == "" {
		return c, fmt.Errorf("url: missing")
	}
	switch e.Kind {
	case broker.KindAMQP:
		d, err := amqp.New(amqp.Config{URL: e.URL, Username: user, Password: pass, Prefetch: e.Prefetch})
		if err != nil {
			return c, err
		}
		c.Dialer = d
	case broker.KindNATS:
		token, err := e.secret("tokenEnv", e.TokenEnv)
		if err != nil {
			return c, err
		}
		cfg := nats.Config{URL: e.URL, Username: user, Password: pass, Token: token, MaxAckPending: e.Prefetch, Name: "baton-" + e.Name}
		if e.AckWait != "" {
			d, err := time.ParseDuration(e.AckWait)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("ackWait: %q is not a positive duration", e.AckWait)
			}
			cfg.AckWait = d
		}
		d, err := nats.New(cfg)
		if err != nil {
			return c, err
		}
		c.Dialer = d
	case broker.KindMQTT:
		id := e.ClientID
		if id == "" {
			id = "baton-" + e.Name
		}
		d, err := mqtt.New(mqtt.Config{URL: e.URL, Username: user, Password: pass, ClientID: id})
		if err != nil {
			return c, err
		}
		c.Dialer = d
	default:
		return c, fmt.Errorf("kind: %q is not a broker kind (amqp, nats or mqtt)", e.Kind)
	}
	return c, nil
}

// startBrokers makes the broker manager (registering its publish handler
// with r); nil when no broker is configured.
func startBrokers(path string, defaultTTL time.Duration, r *runner.Runner, m *metrics.Metrics, log *slog.Logger) (*broker.Manager, error) {
	conns, err := readBrokers(path, defaultTTL)
	if err != nil || len(conns) == 0 {
		return nil, err
	}
	mgr, err := broker.New(broker.Config{Runner: r, Connections: conns, Observer: m.Brokers(), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	log.Info("brokers configured", "brokers", mgr.Names())
	// With brokers configured, a definition naming another is refused.
	r.AddDeployCheck(mgr.CheckDefinition)
	return mgr, nil
}

// runBrokers starts mgr (nil: nothing) and returns its stop.
func runBrokers(ctx context.Context, mgr *broker.Manager) func() {
	if mgr == nil {
		return func() {}
	}
	mgr.Start(ctx)
	return mgr.Stop
}
