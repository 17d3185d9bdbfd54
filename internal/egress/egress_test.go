package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// No test here sends a packet anywhere but 127.0.0.1: refusals happen
// before dialing, and the dial hooks below fail the test (without
// connecting) if a refused address ever reaches them.

// recorder is a dial hook that records the addresses it was asked to
// dial. It connects only to 127.0.0.1 and fails everything else without
// touching the network.
type recorder struct {
	t      *testing.T
	mu     sync.Mutex
	dialed []string
	// forbidden addresses must never reach the hook.
	forbidden bool
}

var errFakeDial = errors.New("fake dial: not connecting")

func (r *recorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	r.dialed = append(r.dialed, addr)
	r.mu.Unlock()
	if r.forbidden {
		r.t.Errorf("dial(%s) reached the network layer; the policy should have refused it", addr)
		return nil, errFakeDial
	}
	host, _, _ := net.SplitHostPort(addr)
	if host == "127.0.0.1" {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return nil, errFakeDial
}

func (r *recorder) addrs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.dialed...)
}

// fixedDNS is a resolver answering from a table; a lookup of any other
// name fails the test. No test here uses real DNS.
func fixedDNS(t *testing.T, table map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		list, ok := table[host]
		if !ok {
			t.Errorf("unexpected DNS lookup of %q", host)
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for _, s := range list {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		ip, want string
	}{
		{"8.8.8.8", ""},
		{"93.184.216.34", ""},
		{"2606:4700::1111", ""},
		{"127.0.0.1", ReasonLoopback},
		{"127.255.1.2", ReasonLoopback},
		{"::1", ReasonLoopback},
		{"10.0.0.1", ReasonPrivate},
		{"172.16.0.1", ReasonPrivate},
		{"172.31.255.255", ReasonPrivate},
		{"192.168.1.1", ReasonPrivate},
		{"198.18.0.1", ReasonPrivate},
		{"fd00::1", ReasonPrivate},
		{"fc00::1", ReasonPrivate},
		{"fec0::1", ReasonPrivate},
		{"100.64.0.1", ReasonShared},
		{"100.127.255.254", ReasonShared},
		{"169.254.169.254", ReasonLinkLocal},
		{"169.254.0.1", ReasonLinkLocal},
		{"fe80::1", ReasonLinkLocal},
		{"fe80::1%eth0", ReasonLinkLocal},
		{"0.0.0.0", ReasonUnspecified},
		{"0.1.2.3", ReasonUnspecified},
		{"::", ReasonUnspecified},
		{"224.0.0.251", ReasonLinkLocal}, // link-local multicast
		{"239.1.2.3", ReasonMulticast},
		{"ff05::2", ReasonMulticast},
		{"ff02::1", ReasonLinkLocal},
		{"255.255.255.255", ReasonReserved},
		{"240.0.0.1", ReasonReserved},
		{"192.0.0.8", ReasonReserved},
		{"2001::1", ReasonReserved},
		// IPv6 forms carrying an IPv4 address are judged by it.
		{"::ffff:127.0.0.1", ReasonLoopback},
		{"::ffff:10.1.2.3", ReasonPrivate},
		{"::ffff:169.254.169.254", ReasonLinkLocal},
		{"::ffff:0.0.0.0", ReasonUnspecified},
		{"::ffff:100.64.0.1", ReasonShared},
		{"::ffff:255.255.255.255", ReasonReserved},
		{"::ffff:8.8.8.8", ""},
		{"::a9fe:a9fe", ReasonLinkLocal},        // IPv4-compatible 169.254.169.254
		{"64:ff9b::a9fe:a9fe", ReasonLinkLocal}, // NAT64 169.254.169.254
		{"64:ff9b::7f00:1", ReasonLoopback},     // NAT64 127.0.0.1
		{"64:ff9b::808:808", ""},                // NAT64 8.8.8.8
		{"2002:a9fe:a9fe::1", ReasonLinkLocal},  // 6to4 169.254.169.254
		{"2002:0a00:0001::1", ReasonPrivate},    // 6to4 10.0.0.1
	}
	for _, c := range cases {
		if got := Classify(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("Classify(%s) = %q, want %q", c.ip, got, c.want)
		}
	}
}

// forbidden lists one address per refused class, IPv4 and IPv6.
var forbidden = []struct{ ip, reason string }{
	{"127.0.0.1", ReasonLoopback},
	{"::1", ReasonLoopback},
	{"10.1.2.3", ReasonPrivate},
	{"172.20.0.5", ReasonPrivate},
	{"192.168.0.10", ReasonPrivate},
	{"fd12:3456::1", ReasonPrivate},
	{"169.254.169.254", ReasonLinkLocal},
	{"fe80::abcd", ReasonLinkLocal},
	{"0.0.0.0", ReasonUnspecified},
	{"::", ReasonUnspecified},
	{"239.255.255.250", ReasonMulticast},
	{"ff0e::1", ReasonMulticast},
	{"255.255.255.255", ReasonReserved},
	{"100.64.1.1", ReasonShared},
	{"::ffff:127.0.0.1", ReasonLoopback},
	{"::ffff:169.254.169.254", ReasonLinkLocal},
	{"::ffff:192.168.1.1", ReasonPrivate},
	{"::ffff:100.100.100.200", ReasonShared},
}

func TestDialRefusesForbiddenClasses(t *testing.T) {
	rec := &recorder{t: t, forbidden: true}
	p := Policy{dial: rec.dial, Resolve: fixedDNS(t, nil)}
	for _, f := range forbidden {
		t.Run(f.ip, func(t *testing.T) {
			c, err := p.DialContext(context.Background(), "tcp", net.JoinHostPort(f.ip, "80"))
			if c != nil {
				c.Close()
			}
			var de *DeniedError
			if !errors.As(err, &de) {
				t.Fatalf("DialContext(%s) error = %v, want *DeniedError", f.ip, err)
			}
			if de.Reason != f.reason || de.IP != netip.MustParseAddr(f.ip) {
				t.Errorf("DeniedError = %+v, want IP %s reason %q", de, f.ip, f.reason)
			}
		})
	}
}

func TestDialRefusesNamesResolvingToForbiddenAddresses(t *testing.T) {
	rec := &recorder{t: t, forbidden: true}
	table := map[string][]string{}
	for i, f := range forbidden {
		table["h"+string(rune('a'+i))+".example.com"] = []string{f.ip}
	}
	p := Policy{dial: rec.dial, Resolve: fixedDNS(t, table)}
	for host, ips := range table {
		_, err := p.DialContext(context.Background(), "tcp", host+":443")
		var de *DeniedError
		if !errors.As(err, &de) || de.Host != host || de.IP != netip.MustParseAddr(ips[0]) {
			t.Errorf("DialContext(%s → %s) error = %v, want *DeniedError for that address", host, ips[0], err)
		}
	}
}

func TestDialUsesOnlyAllowedAddressesOfAName(t *testing.T) {
	rec := &recorder{t: t}
	p := Policy{dial: rec.dial, Resolve: fixedDNS(t, map[string][]string{
		"mixed.example.com": {"169.254.169.254", "10.0.0.7", "93.184.216.34", "2606:2800:220:1::1"},
	})}
	_, err := p.DialContext(context.Background(), "tcp", "mixed.example.com:443")
	if !errors.Is(err, errFakeDial) {
		t.Fatalf("DialContext error = %v, want the fake dial error", err)
	}
	got := strings.Join(rec.addrs(), " ")
	if want := "93.184.216.34:443 [2606:2800:220:1::1]:443"; got != want {
		t.Errorf("dialed %q, want only the public addresses %q", got, want)
	}
}

func TestAllowSwitches(t *testing.T) {
	cases := []struct {
		policy  Policy
		ip      string
		allowed bool
	}{
		{Policy{AllowLoopback: true}, "127.0.0.1", true},
		{Policy{AllowLoopback: true}, "::1", true},
		{Policy{AllowLoopback: true}, "::ffff:127.0.0.2", true},
		{Policy{AllowLoopback: true}, "10.0.0.1", false},
		{Policy{AllowPrivate: true}, "10.0.0.1", true},
		{Policy{AllowPrivate: true}, "192.168.3.4", true},
		{Policy{AllowPrivate: true}, "fd00::5", true},
		{Policy{AllowPrivate: true}, "100.64.0.9", true},
		{Policy{AllowPrivate: true}, "127.0.0.1", false},
		// Never allowed, whatever the switches say.
		{Policy{AllowPrivate: true, AllowLoopback: true}, "169.254.169.254", false},
		{Policy{AllowPrivate: true, AllowLoopback: true}, "fe80::1", false},
		{Policy{AllowPrivate: true, AllowLoopback: true}, "0.0.0.0", false},
		{Policy{AllowPrivate: true, AllowLoopback: true}, "224.0.1.1", false},
		{Policy{AllowPrivate: true, AllowLoopback: true}, "255.255.255.255", false},
		{Policy{AllowPrivate: true, AllowLoopback: true}, "::ffff:169.254.169.254", false},
	}
	for _, c := range cases {
		rec := &recorder{t: t}
		c.policy.dial = rec.dial
		_, err := c.policy.DialContext(context.Background(), "tcp", net.JoinHostPort(c.ip, "9"))
		var de *DeniedError
		denied := errors.As(err, &de)
		if denied == c.allowed {
			t.Errorf("%+v dial %s: error %v, want allowed=%v", c.policy, c.ip, err, c.allowed)
		}
		if c.allowed && len(rec.addrs()) != 1 {
			t.Errorf("%+v dial %s: dialed %v, want one dial", c.policy, c.ip, rec.addrs())
		}
		if !c.allowed && len(rec.addrs()) != 0 {
			t.Errorf("%+v dial %s: dialed %v although refused", c.policy, c.ip, rec.addrs())
		}
	}
}

func TestAllowList(t *testing.T) {
	list := []string{"api.example.com", "*.hooks.example.net", "203.0.113.0/24", "198.51.100.7", "2001:db8:1::/48", "Upper.Example.Org."}
	dns := map[string][]string{
		"api.example.com":           {"93.184.216.34"},
		"a.hooks.example.net":       {"93.184.216.35"},
		"x.y.hooks.example.net":     {"93.184.216.36"},
		"hooks.example.net":         {"93.184.216.37"},
		"cdn.example.com":           {"203.0.113.9"},
		"other.example.com":         {"93.184.216.38"},
		"evilhooks.example.net":     {"203.0.114.1"},
		"upper.example.org":         {"93.184.216.39"},
		"v6.example.com":            {"2001:db8:1::5"},
		"private.hooks.example.net": {"10.0.0.1"},
	}
	cases := []struct {
		host    string
		allowed bool
		reason  string
	}{
		{"api.example.com", true, ""},
		{"API.Example.COM.", true, ""},
		{"a.hooks.example.net", true, ""},
		{"x.y.hooks.example.net", true, ""},
		{"hooks.example.net", false, ReasonNotAllowed}, // wildcard does not match the apex
		{"cdn.example.com", true, ""},                  // name not listed, address in a listed CIDR
		{"other.example.com", false, ReasonNotAllowed},
		{"evilhooks.example.net", false, ReasonNotAllowed},
		{"upper.example.org", true, ""},
		{"203.0.113.200", true, ""},
		{"198.51.100.7", true, ""},
		{"198.51.100.8", false, ReasonNotAllowed},
		{"v6.example.com", true, ""},
		{"2001:db8:2::1", false, ReasonNotAllowed},
		// Listing a name does not open the forbidden classes.
		{"private.hooks.example.net", false, ReasonPrivate},
	}
	for _, c := range cases {
		p := Policy{AllowHosts: list, Resolve: fixedDNS(t, dns)}
		_, err := p.Check(context.Background(), c.host)
		var de *DeniedError
		if c.allowed {
			if err != nil {
				t.Errorf("Check(%s) = %v, want allowed", c.host, err)
			}
			continue
		}
		if !errors.As(err, &de) || de.Reason != c.reason {
			t.Errorf("Check(%s) = %v, want refusal %q", c.host, err, c.reason)
		}
	}
}

func TestAllowListWithoutCIDRRefusesBeforeResolving(t *testing.T) {
	p := Policy{AllowHosts: []string{"api.example.com"}, Resolve: fixedDNS(t, nil)}
	_, err := p.Check(context.Background(), "attacker.example.org")
	var de *DeniedError
	if !errors.As(err, &de) || de.Reason != ReasonNotAllowed || de.IP.IsValid() {
		t.Errorf("Check = %v, want a name refusal without lookup", err)
	}
}

func TestAllowListNarrowsPrivate(t *testing.T) {
	p := Policy{AllowPrivate: true, AllowHosts: []string{"10.1.2.0/24"}}
	if _, err := p.Check(context.Background(), "10.1.2.3"); err != nil {
		t.Errorf("Check(10.1.2.3) = %v, want allowed", err)
	}
	if _, err := p.Check(context.Background(), "10.9.9.9"); err == nil {
		t.Error("Check(10.9.9.9) allowed, want refused: not in the listed subnet")
	}
}

func TestValidate(t *testing.T) {
	if err := (Policy{AllowHosts: []string{"a.example.com", "*.b.example.com", "10.0.0.0/8", "::1"}}).Validate(); err != nil {
		t.Errorf("Validate(good) = %v", err)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "a.*.example.com", "*example.com", "*", "api.example.com:443", "https://api.example.com"} {
		if err := (Policy{AllowHosts: []string{bad}}).Validate(); err == nil {
			t.Errorf("Validate(%q) = nil, want an error", bad)
		}
	}
}

func loopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want 127.0.0.1", srv.URL)
	}
	return srv
}

func TestClientAgainstLocalServer(t *testing.T) {
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))

	// The default policy refuses loopback before connecting.
	_, err := Policy{}.Client(5 * time.Second).Get(srv.URL)
	var de *DeniedError
	if !errors.As(err, &de) || de.Reason != ReasonLoopback {
		t.Fatalf("GET with default policy: error %v, want loopback refusal", err)
	}

	resp, err := Policy{AllowLoopback: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with AllowLoopback: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("body = %q", body)
	}

	// An allow-list that does not name 127.0.0.1 refuses it too.
	_, err = Policy{AllowLoopback: true, AllowHosts: []string{"api.example.com"}}.Client(5 * time.Second).Get(srv.URL)
	if !errors.As(err, &de) || de.Reason != ReasonNotAllowed {
		t.Errorf("GET outside the allow-list: error %v, want refusal", err)
	}
}

func TestRedirectToForbiddenAddressIsRefused(t *testing.T) {
	targets := map[string]string{
		"/metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"/private":  "http://10.0.0.1:8080/admin",
		"/mapped":   "http://[::ffff:169.254.169.254]/",
		"/rebind":   "http://metadata.attacker.example/",
		"/zero":     "http://0.0.0.0:80/",
		"/scheme":   "file:///etc/passwd",
		"/ok":       "/final",
	}
	var mu sync.Mutex
	hits := map[string]int{}
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		if to, ok := targets[r.URL.Path]; ok {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "final")
	}))

	rec := &recorder{t: t}
	p := Policy{AllowLoopback: true, dial: rec.dial, Resolve: fixedDNS(t, map[string][]string{
		"metadata.attacker.example": {"169.254.169.254"},
	})}
	client := p.Client(5 * time.Second)

	for path, want := range map[string]string{
		"/metadata": ReasonLinkLocal, "/private": ReasonPrivate, "/mapped": ReasonLinkLocal,
		"/rebind": ReasonLinkLocal, "/zero": ReasonUnspecified, "/scheme": "redirect to scheme file",
	} {
		_, err := client.Get(srv.URL + path)
		var de *DeniedError
		if !errors.As(err, &de) || de.Reason != want {
			t.Errorf("GET %s: error %v, want refusal %q", path, err, want)
		}
	}
	resp, err := client.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatalf("GET /ok: %v", err)
	}
	resp.Body.Close()
	if hits["/final"] != 1 {
		t.Errorf("a same-host redirect was not followed: hits %v", hits)
	}
	for _, a := range rec.addrs() {
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("dialed %s; only 127.0.0.1 may be dialed", a)
		}
	}
}

func TestRedirectLimit(t *testing.T) {
	srv := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	_, err := Policy{AllowLoopback: true}.Client(5 * time.Second).Get(srv.URL)
	if err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("GET looping redirect: error %v, want a redirect limit", err)
	}
}

func TestTransportIgnoresProxyEnvironment(t *testing.T) {
	if tr := (Policy{}).Transport(); tr.Proxy != nil {
		t.Error("Transport().Proxy is set; a proxy would bypass the address checks")
	}
}

func TestControlRechecksAddress(t *testing.T) {
	p := Policy{}
	if err := p.control("tcp4", "169.254.169.254:80", nil); err == nil {
		t.Error("control(169.254.169.254) = nil, want refusal")
	}
	if err := p.control("tcp4", "93.184.216.34:80", nil); err != nil {
		t.Errorf("control(public) = %v", err)
	}
	if err := (Policy{AllowLoopback: true}).control("tcp4", "127.0.0.1:80", nil); err != nil {
		t.Errorf("control(loopback allowed) = %v", err)
	}
}
