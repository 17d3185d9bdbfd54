// Package egress guards Baton's outbound HTTP traffic (service tasks,
// webhooks, SMS providers) against server-side request forgery.
//
// A Policy builds an http.Transport whose dialer resolves the target host
// itself, checks every address before it connects, and then dials the
// checked address (never the name again), so a DNS answer cannot change
// between the check and the connection. Refused by default:
//
//	loopback      127.0.0.0/8, ::1                              (AllowLoopback opens it)
//	private       10/8, 172.16/12, 192.168/16, 198.18/15,
//	              fc00::/7, fec0::/10                           (AllowPrivate opens it)
//	shared (CGNAT) 100.64.0.0/10                                (AllowPrivate opens it)
//	link-local    169.254/16 (cloud metadata 169.254.169.254), fe80::/10
//	unspecified   0.0.0.0/8, ::
//	multicast     224/4, ff00::/8
//	reserved      240/4 including broadcast 255.255.255.255, 192.0.0/24,
//	              64:ff9b:1::/48, 2001::/32 (Teredo), 100::/64
//
// Link-local, unspecified, multicast and reserved addresses are refused
// whatever the policy says: no legitimate workflow call goes there, and
// link-local is where cloud metadata services hand out credentials.
// IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:a.b.c.d,
// IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4
// 2002::/16) are judged by the IPv4 address they carry.
//
// A non-empty AllowHosts list narrows further: only hosts it names (or
// addresses inside its CIDR entries) are reachable. It never widens: an
// allow-listed name that resolves to a private address is still refused
// unless AllowPrivate is set. To let calls reach one internal subnet only,
// set AllowPrivate and list the subnet: AllowHosts: ["10.1.2.0/24"].
//
// The transport ignores HTTP(S)_PROXY: a proxy would make the dialer see
// only the proxy's address, never the target's.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Policy says where outbound HTTP may go. The zero Policy allows every
// public address and refuses the forbidden classes.
type Policy struct {
	// AllowHosts, when not empty, lists the only reachable hosts. An entry
	// is an exact host name ("api.example.com"), a wildcard that matches
	// every subdomain but not the apex ("*.example.com"), an IP address,
	// or a CIDR prefix ("203.0.113.0/24") that resolved addresses must lie
	// in.
	AllowHosts []string
	// AllowPrivate permits private (RFC 1918, fc00::/7) and shared
	// (100.64.0.0/10) addresses.
	AllowPrivate bool
	// AllowLoopback permits 127.0.0.0/8 and ::1.
	AllowLoopback bool
	// Resolve looks up a host name's addresses (default
	// net.DefaultResolver.LookupNetIP). Tests set it to avoid DNS.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Wrap, if set, wraps the transport of every Client (cmd/baton puts
	// tracing's traceparent-sending transport here when tracing is on).
	Wrap func(http.RoundTripper) http.RoundTripper

	// dial connects to a checked "ip:port" (default net.Dialer); tests in
	// this package replace it to prove refusals never reach the network.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DeniedError reports an outbound connection the policy refused.
type DeniedError struct {
	Host   string     // the host as requested
	IP     netip.Addr // the refused address; invalid when the host name itself was refused
	Reason string     // "loopback", "private", "link-local", "not in allow-list", ...
}

func (e *DeniedError) Error() string {
	if e.IP.IsValid() && e.IP.String() != e.Host {
		return fmt.Sprintf("egress: %s (%s) refused: %s", e.Host, e.IP, e.Reason)
	}
	return fmt.Sprintf("egress: %s refused: %s", e.Host, e.Reason)
}

// Address classes (DeniedError.Reason values).
const (
	ReasonLoopback    = "loopback address"
	ReasonPrivate     = "private address"
	ReasonShared      = "shared (CGNAT) address"
	ReasonLinkLocal   = "link-local address"
	ReasonUnspecified = "unspecified address"
	ReasonMulticast   = "multicast address"
	ReasonReserved    = "reserved or broadcast address"
	ReasonNotAllowed  = "not in allow-list"
	ReasonNoAddress   = "no address"
)

var (
	v4This      = netip.MustParsePrefix("0.0.0.0/8")
	v4Shared    = netip.MustParsePrefix("100.64.0.0/10")
	v4Bench     = netip.MustParsePrefix("198.18.0.0/15")
	v4Reserved  = []netip.Prefix{netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("192.0.0.0/24")}
	v6Compat    = netip.MustParsePrefix("::/96")
	v6NAT64     = netip.MustParsePrefix("64:ff9b::/96")
	v6SixToFour = netip.MustParsePrefix("2002::/16")
	v6SiteLocal = netip.MustParsePrefix("fec0::/10")
	// v6Reserved holds prefixes that hide an IPv4 address in a form not
	// worth decoding (NAT64 local use, Teredo) or go nowhere (discard).
	v6Reserved = []netip.Prefix{
		netip.MustParsePrefix("64:ff9b:1::/48"),
		netip.MustParsePrefix("2001::/32"),
		netip.MustParsePrefix("100::/64"),
	}
)

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// embeddedV4 returns the IPv4 address an IPv6 address carries in one of
// the transition forms, and whether it has one.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if a.Is4In6() {
		return a.Unmap(), true
	}
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case v6NAT64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case v6SixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	case v6Compat.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	}
	return netip.Addr{}, false
}

// Classify returns the forbidden class of a, or "" for an ordinary public
// address. It ignores the policy's Allow switches.
func Classify(a netip.Addr) string {
	a = a.WithZone("")
	if v4, ok := embeddedV4(a); ok {
		a = v4
	}
	switch {
	case !a.IsValid():
		return ReasonNoAddress
	case a.IsUnspecified() || (a.Is4() && v4This.Contains(a)):
		return ReasonUnspecified
	case a.IsLoopback():
		return ReasonLoopback
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return ReasonLinkLocal
	case a.IsMulticast() || a.IsInterfaceLocalMulticast():
		return ReasonMulticast
	case a.IsPrivate() || v6SiteLocal.Contains(a) || (a.Is4() && v4Bench.Contains(a)):
		return ReasonPrivate
	case a.Is4() && v4Shared.Contains(a):
		return ReasonShared
	case a.Is4() && inAny(a, v4Reserved), a.Is6() && inAny(a, v6Reserved):
		return ReasonReserved
	}
	return ""
}

// CheckAddr reports whether the policy lets a connection reach address a
// of host. It returns a *DeniedError or nil.
func (p Policy) CheckAddr(host string, a netip.Addr) error {
	switch reason := Classify(a); reason {
	case "":
	case ReasonLoopback:
		if !p.AllowLoopback {
			return &DeniedError{Host: host, IP: a, Reason: reason}
		}
	case ReasonPrivate, ReasonShared:
		if !p.AllowPrivate {
			return &DeniedError{Host: host, IP: a, Reason: reason}
		}
	default:
		return &DeniedError{Host: host, IP: a, Reason: reason}
	}
	if len(p.AllowHosts) > 0 && !p.hostListed(host) && !p.addrListed(a) {
		return &DeniedError{Host: host, IP: a, Reason: ReasonNotAllowed}
	}
	return nil
}

// hostListed reports whether the host name matches a name entry.
func (p Policy) hostListed(host string) bool {
	host = normalizeHost(host)
	for _, e := range p.AllowHosts {
		e = normalizeHost(e)
		if strings.Contains(e, "/") {
			continue
		}
		if suffix, ok := strings.CutPrefix(e, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == e {
			return true
		}
		// An IP entry matches the same address however it is spelled.
		if ea, err := netip.ParseAddr(e); err == nil {
			if ha, err := netip.ParseAddr(host); err == nil && ea.Unmap() == ha.Unmap() {
				return true
			}
		}
	}
	return false
}

// addrListed reports whether a lies in a CIDR entry.
func (p Policy) addrListed(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, e := range p.AllowHosts {
		if !strings.Contains(e, "/") {
			continue
		}
		pfx, err := netip.ParsePrefix(strings.TrimSpace(e))
		if err == nil && pfx.Contains(a) {
			return true
		}
	}
	return false
}

// mayBeListed reports whether a host name could pass the allow-list
// before it is resolved: the name is listed, or a CIDR entry might hold
// its addresses.
func (p Policy) mayBeListed(host string) bool {
	if len(p.AllowHosts) == 0 || p.hostListed(host) {
		return true
	}
	for _, e := range p.AllowHosts {
		if strings.Contains(e, "/") {
			return true
		}
	}
	return false
}

func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimSuffix(h, ".")
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// Validate reports malformed AllowHosts entries.
func (p Policy) Validate() error {
	var errs []error
	for _, e := range p.AllowHosts {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			errs = append(errs, errors.New("egress: empty allow-list entry"))
		case strings.Contains(e, "/"):
			if _, err := netip.ParsePrefix(e); err != nil {
				errs = append(errs, fmt.Errorf("egress: allow-list entry %q: %v", e, err))
			}
		case strings.Contains(e, ":"):
			if _, err := netip.ParseAddr(strings.Trim(e, "[]")); err != nil {
				errs = append(errs, fmt.Errorf("egress: allow-list entry %q: give a host without port or scheme", e))
			}
		case strings.Contains(e, "*") && (!strings.HasPrefix(e, "*.") || strings.Count(e, "*") > 1 || len(e) < 3):
			errs = append(errs, fmt.Errorf("egress: allow-list entry %q: a wildcard must be a leading \"*.\"", e))
		}
	}
	return errors.Join(errs...)
}

// resolve returns the addresses of host: the host itself when it is an
// IP literal, else the resolver's answer.
func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(normalizeHost(host)); err == nil {
		return []netip.Addr{a}, nil
	}
	lookup := p.Resolve
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &DeniedError{Host: host, Reason: ReasonNoAddress}
	}
	return addrs, nil
}

// Check resolves host and returns the addresses the policy lets a
// connection reach, or the refusal of the first address when none is
// allowed.
func (p Policy) Check(ctx context.Context, host string) ([]netip.Addr, error) {
	host = normalizeHost(host)
	if !p.mayBeListed(host) {
		return nil, &DeniedError{Host: host, Reason: ReasonNotAllowed}
	}
	addrs, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var ok []netip.Addr
	var first error
	for _, a := range addrs {
		if err := p.CheckAddr(host, a); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		ok = append(ok, a)
	}
	if len(ok) == 0 {
		return nil, first
	}
	return ok, nil
}

// DialContext connects to addr ("host:port") if the policy allows it. It
// resolves the host, drops the addresses the policy refuses, and dials
// the others in turn by address. It returns a *DeniedError without
// touching the network when no address is allowed.
func (p Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := p.Check(ctx, host)
	if err != nil {
		return nil, err
	}
	dial := p.dial
	if dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
		dial = d.DialContext
	}
	var errs []error
	for _, a := range addrs {
		if (network == "tcp4" && !a.Unmap().Is4()) || (network == "tcp6" && a.Is4()) {
			continue
		}
		c, err := dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("egress: %s has no %s address", host, network)
	}
	return nil, errors.Join(errs...)
}

// control re-checks the address class right before the socket connects
// (defence in depth: DialContext already dialled a checked address).
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	switch reason := Classify(a); reason {
	case "":
		return nil
	case ReasonLoopback:
		if p.AllowLoopback {
			return nil
		}
	case ReasonPrivate, ReasonShared:
		if p.AllowPrivate {
			return nil
		}
	}
	return &DeniedError{Host: host, IP: a, Reason: Classify(a)}
}

// MaxRedirects is how many redirects a Client follows.
const MaxRedirects = 10

// CheckRedirect is an http.Client CheckRedirect function that re-checks
// every redirect target against the policy (scheme, allow-list, address
// classes) before it is followed, and stops after MaxRedirects.
func (p Policy) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= MaxRedirects {
		return fmt.Errorf("egress: stopped after %d redirects", MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return &DeniedError{Host: req.URL.Host, Reason: "redirect to scheme " + req.URL.Scheme}
	}
	_, err := p.Check(req.Context(), req.URL.Hostname())
	return err
}

// Transport returns a transport that dials only what the policy allows
// and ignores proxy settings.
func (p Policy) Transport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           p.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Client returns an HTTP client on Transport() that re-checks redirects
// and gives up on a request after timeout (0: no limit besides the
// request's context).
func (p Policy) Client(timeout time.Duration) *http.Client {
	var rt http.RoundTripper = p.Transport()
	if p.Wrap != nil {
		rt = p.Wrap(rt)
	}
	return &http.Client{Transport: rt, CheckRedirect: p.CheckRedirect, Timeout: timeout}
}
