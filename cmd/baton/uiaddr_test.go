package main

import (
	"net"
	"testing"
)

func TestUIURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://localhost:8080/",
		"[::]:8080":      "http://localhost:8080/",
		"127.0.0.1:4321": "http://127.0.0.1:4321/",
		"[::1]:80":       "http://[::1]:80/",
		"10.1.2.3:9000":  "http://10.1.2.3:9000/",
	} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := uiURL(tcp); got != want {
			t.Errorf("uiURL(%s) = %s, want %s", addr, got, want)
		}
	}
}
