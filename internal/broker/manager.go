package broker

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// Config configures a Manager.
type Config struct {
	Runner      *runner.Runner
	Connections []Connection
	Observer    Observer // nil: no measurements
	Logger      *slog.Logger
	Backoff     Backoff // zero: DefaultBackoff
	// Refresh is how often deployed definitions are read for new broker
	// sources (another node may deploy); 0: every 2 seconds.
	Refresh time.Duration
}

// Manager keeps the configured brokers connected, consumes the
// destinations deployed definitions subscribe to, and publishes the
// messages of broker sinks (as the runner's handler for
// runner.KindBroker).
type Manager struct {
	r       *runner.Runner
	log     *slog.Logger
	obs     Observer
	backoff Backoff
	refresh time.Duration
	conns   map[string]*conn

	mu     sync.RWMutex
	routes map[string]map[string][]route // broker → destination → routes
	seen   string                        // the definitions the routes were built from
	warned map[string]bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// route is one message name a destination's messages are published as.
type route struct {
	name string
	node *model.Node // the catch whose source says how to read the message
	src  *model.BrokerSource
}

// New makes a manager and registers its publish handler with the runner.
func New(cfg Config) (*Manager, error) {
	m := &Manager{r: cfg.Runner, log: cfg.Logger, obs: cfg.Observer, backoff: cfg.Backoff, refresh: cfg.Refresh,
		conns: map[string]*conn{}, warned: map[string]bool{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.obs == nil {
		m.obs = nopObserver{}
	}
	if m.backoff.Initial <= 0 || m.backoff.Max <= 0 {
		m.backoff = DefaultBackoff
	}
	if m.refresh <= 0 {
		m.refresh = 2 * time.Second
	}
	for _, c := range cfg.Connections {
		if !validName(c.Name) {
			return nil, fmt.Errorf("broker %q: not a broker name (letters, digits, '_', '.', '-'; at most 64)", c.Name)
		}
		if m.conns[c.Name] != nil {
			return nil, fmt.Errorf("broker %q is configured twice", c.Name)
		}
		if c.Dialer == nil {
			return nil, fmt.Errorf("broker %q: no dialer", c.Name)
		}
		m.conns[c.Name] = &conn{Connection: c, m: m, dests: map[string]bool{}, changed: make(chan struct{}, 1)}
	}
	cfg.Runner.Register(runner.KindBroker, runner.HandlerFunc(m.work))
	return m, nil
}

// Names lists the configured brokers.
func (m *Manager) Names() []string {
	var out []string
	for n := range m.conns {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Start connects every broker and begins consuming. It returns at once;
// connections are made (and remade) in the background.
func (m *Manager) Start(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	for _, c := range m.conns {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			c.run(ctx, m.r.Clock(), m.log)
		}()
	}
	m.refreshRoutes(ctx)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.r.Clock().After(m.refresh):
				m.refreshRoutes(ctx)
			}
		}
	}()
}

// Stop ends the consumers and closes the connections. A message being
// handed to the engine is finished or, unacknowledged, redelivered later.
func (m *Manager) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

// Refresh reads the deployed definitions now (after a deploy).
func (m *Manager) Refresh(ctx context.Context) { m.refreshRoutes(ctx) }

// refreshRoutes rebuilds the routes from every version of every deployed
// definition (an instance of an old version may still wait at a broker
// catch), newest first, and starts consumers for new destinations.
func (m *Manager) refreshRoutes(ctx context.Context) {
	st := m.r.Store()
	latest, err := st.Definitions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("broker routes: list definitions", "err", err)
		}
		return
	}
	var sig strings.Builder
	for _, row := range latest {
		fmt.Fprintf(&sig, "%s@%d:%s;", row.ID, row.Version, row.Hash)
	}
	m.mu.RLock()
	same := m.seen == sig.String()
	m.mu.RUnlock()
	if same {
		return
	}
	routes := map[string]map[string][]route{}
	for _, l := range latest {
		versions, err := st.DefinitionVersions(ctx, l.ID)
		if err != nil {
			m.log.Error("broker routes: list versions", "definition", l.ID, "err", err)
			return
		}
		slices.SortFunc(versions, func(a, b store.DefinitionRow) int { return b.Version - a.Version })
		for _, v := range versions {
			d, _, err := m.r.Definition(ctx, v.ID, v.Version)
			if err != nil {
				continue
			}
			for _, ep := range d.BrokerSources() {
				m.addRoute(routes, d, ep)
			}
		}
	}
	m.mu.Lock()
	m.routes, m.seen = routes, sig.String()
	m.mu.Unlock()
	for b, dests := range routes {
		c := m.conns[b]
		if c == nil {
			continue
		}
		for dest := range dests {
			c.want(dest)
		}
	}
}

func (m *Manager) addRoute(routes map[string]map[string][]route, d *model.Definition, ep model.BrokerEndpoint) {
	b := ep.Source.Broker
	if m.conns[b] == nil {
		key := d.ID + "/" + ep.Node.ID + "/" + b
		if !m.warned[key] {
			m.warned[key] = true
			m.log.Warn("definition subscribes to a broker that is not configured", "definition", d.ID, "node", ep.Node.ID, "broker", b)
		}
		return
	}
	if routes[b] == nil {
		routes[b] = map[string][]route{}
	}
	name := ep.Node.MessageName()
	for _, r := range routes[b][ep.Source.Destination] {
		if r.name == name {
			return // a newer version (or an earlier node) says how to read it
		}
	}
	routes[b][ep.Source.Destination] = append(routes[b][ep.Source.Destination], route{name: name, node: ep.Node, src: ep.Source})
}

func (m *Manager) routesFor(broker, dest string) []route {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.routes[broker][dest]
}

// Connected reports whether broker has a live session.
func (m *Manager) Connected(broker string) bool {
	c := m.conns[broker]
	if c == nil {
		return false
	}
	_, err := c.session()
	return err == nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}

type nopObserver struct{}

func (nopObserver) BrokerConnected(string, string, bool) {}
func (nopObserver) BrokerMessageIn(string, string)       {}
func (nopObserver) BrokerMessageOut(string, string)      {}
func (nopObserver) BrokerRedelivered(string)             {}
func (nopObserver) BrokerError(string, string)           {}

// CheckDefinition is the runner's deploy check for brokers: every broker
// a source or sink of d names is configured on this server.
func (m *Manager) CheckDefinition(_ context.Context, d *model.Definition) ([]model.Problem, error) {
	var probs []model.Problem
	for _, n := range d.Nodes {
		if n.Event == nil {
			continue
		}
		for _, e := range [...]struct {
			field, broker string
		}{{"event.source.broker", brokerOf(n.Event.Source)}, {"event.sink.broker", sinkBroker(n.Event.Sink)}} {
			if e.broker != "" && m.conns[e.broker] == nil {
				probs = append(probs, model.Problem{Line: n.Line, NodeID: n.ID, Field: e.field,
					Message: fmt.Sprintf("no broker %q is configured on this server (configured: %s; docs/brokers.md)", e.broker, strings.Join(m.Names(), ", "))})
			}
		}
	}
	return probs, nil
}

func brokerOf(s *model.BrokerSource) string {
	if s == nil {
		return ""
	}
	return s.Broker
}

func sinkBroker(s *model.BrokerSink) string {
	if s == nil {
		return ""
	}
	return s.Broker
}
