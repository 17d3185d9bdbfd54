package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/script"
)

// TestMain lets this test binary serve as a script worker for the servers
// the tests run in-process (their pool re-executes os.Executable).
func TestMain(m *testing.M) {
	script.RunWorkerIfRequested()
	os.Exit(m.Run())
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"256MiB", 256 << 20}, {"64 MiB", 64 << 20}, {"1GiB", 1 << 30}, {"100MB", 100 << 20}, {"16777216", 16 << 20},
		{"", 0}, {"x", 0}, {"-5MiB", 0}, {"1KiB", 0}, {"9999999GiB", 0},
	} {
		got, err := parseSize(tt.in)
		if got != tt.want || (err == nil) != (tt.want > 0) {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestScriptWorkerIsNotRunByHand(t *testing.T) {
	var stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &stderr}
	if code := m.Exec(context.Background(), []string{"script-worker"}); code != ExitUsage || !strings.Contains(stderr.String(), "not run by hand") {
		t.Errorf("script-worker by hand: exit %d, %s", code, stderr.String())
	}
}

func TestServeScriptFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--script-workers", "-1"},
		{"--script-timeout", "0s"},
		{"--script-memory", "lots"},
	} {
		m, _, stderr := newServeTestMain()
		if code := m.Exec(context.Background(), append([]string{"serve", "--dev"}, args...)); code != ExitUsage {
			t.Errorf("serve %v: exit %d, want %d; %s", args, code, ExitUsage, stderr)
		}
	}
}
