package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/script"
)

// scriptWorkerCommand is `baton script-worker`, the hidden subcommand a
// server's script pool starts (internal/script.Pool): main hands the
// process to script.RunWorkerIfRequested before parsing anything, so this
// command only runs when someone types it.
type scriptWorkerCommand struct{}

func (scriptWorkerCommand) ParseFlags(context.Context, []string) error { return nil }

func (scriptWorkerCommand) Run(context.Context) error {
	return usageErrorf("script-worker runs scripts for baton serve, which starts it; it is not run by hand")
}

// scriptFlags are the serve flags that isolate scripts (docs/security.md).
type scriptFlags struct {
	workers int
	memory  string
	timeout time.Duration
}

func (s *scriptFlags) register(fs *flag.FlagSet) error {
	workers, err := envInt("BATON_SCRIPT_WORKERS", max(2, runtime.NumCPU()))
	if err != nil {
		return usageErrorf("%v", err)
	}
	timeout := engine.ScriptLimits.Timeout
	if v := os.Getenv("BATON_SCRIPT_TIMEOUT"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil {
			return usageErrorf("BATON_SCRIPT_TIMEOUT=%q: %v", v, err)
		}
	}
	fs.IntVar(&s.workers, "script-workers", workers, "run scripts in at most `N` sandbox worker processes at once (0: in the server's process, without isolation)")
	fs.StringVar(&s.memory, "script-memory", envOr("BATON_SCRIPT_MEMORY", "256MiB"), "memory limit of each script worker (`SIZE`: 64MiB, 1GiB, bytes)")
	fs.DurationVar(&s.timeout, "script-timeout", timeout, "time limit of one script run")
	return nil
}

func (s *scriptFlags) validate() error {
	if s.workers < 0 {
		return usageErrorf("--script-workers must not be negative")
	}
	if s.timeout <= 0 {
		return usageErrorf("--script-timeout must be positive")
	}
	if _, err := parseSize(s.memory); err != nil {
		return usageErrorf("--script-memory: %v", err)
	}
	return nil
}

// install applies the limits and starts the pool of script workers
// (unless --script-workers is 0); the returned func stops it.
// BATON_SCRIPT_ISOLATE=all sends the simple scripts, which otherwise run
// in-process, to the workers too (to measure what isolation costs).
func (s *scriptFlags) install(log *slog.Logger) (stop func(), err error) {
	memory, _ := parseSize(s.memory)
	engine.ScriptLimits.Timeout = s.timeout
	engine.ScriptLimits.MaxAllocBytes = min(script.DefaultLimits().MaxAllocBytes, memory)
	if s.workers == 0 {
		log.Warn("scripts run in the server's process, without isolation (--script-workers 0)")
		return func() {}, nil
	}
	all := os.Getenv("BATON_SCRIPT_ISOLATE") == "all"
	p, err := script.NewPool(script.PoolConfig{Workers: s.workers, Memory: memory, All: all, Logger: log})
	if err != nil {
		return nil, err
	}
	script.UseWorkers(p)
	log.Info("script workers", "workers", s.workers, "memory", s.memory, "timeout", s.timeout, "all", all)
	return func() { p.Close() }, nil
}

// parseSize reads a byte count: 1048576, 64KiB, 256MiB, 1GiB (KB, MB, GB
// are read as the same powers of two).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 256MiB", s)
	}
	if n*mult < 16<<20 {
		return 0, fmt.Errorf("%s is below the smallest limit, 16MiB", s)
	}
	return n * mult, nil
}

// installScriptsFromEnv is install with the settings serve would take
// from its environment alone, for commands without the flags (bench).
func installScriptsFromEnv(log *slog.Logger) (stop func(), err error) {
	var s scriptFlags
	if err := s.register(flag.NewFlagSet("scripts", flag.ContinueOnError)); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s.install(log)
}
