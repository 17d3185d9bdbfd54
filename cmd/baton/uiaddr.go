package main

import (
	"net"
	"strconv"
)

// uiURL is the address to open the web UI at for a listener's address:
// a wildcard host (":8080", "[::]:8080") is reachable as localhost.
func uiURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "http://" + addr.String() + "/"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
