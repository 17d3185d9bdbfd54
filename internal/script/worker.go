package script

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
)

// RunWorkerIfRequested turns this process into a script worker when a
// Pool started it, and never returns then; otherwise it returns at once.
// Call it first thing in main, and in TestMain of test packages whose
// tests use a Pool (os.Executable is the test binary there).
func RunWorkerIfRequested() {
	v, ok := os.LookupEnv(workerEnv)
	if !ok {
		return
	}
	memory, err := strconv.ParseInt(v, 10, 64)
	if err != nil || memory <= 0 {
		fmt.Fprintf(os.Stderr, "script worker: %s=%q is not a byte count\n", workerEnv, v)
		os.Exit(1)
	}
	os.Exit(serveWorker(os.Stdin, os.Stdout, memory))
}

// serveWorker is a worker's life: set its own limits, then answer one
// request at a time until its stdin closes. It returns the exit code.
func serveWorker(in io.Reader, out io.Writer, memory int64) int {
	// The Go runtime has reserved its address space by now; the limits
	// count from here.
	if err := limitMemory(memory); err != nil {
		fmt.Fprintf(os.Stderr, "script worker: %v\n", err)
		return 1
	}
	debug.SetMemoryLimit(memory)
	if c := cpuLimitSignal(); c != nil {
		xcpu := make(chan os.Signal, 1)
		signal.Notify(xcpu, c)
		go func() {
			<-xcpu
			fmt.Fprintln(os.Stderr, "script worker: CPU time limit exceeded")
			os.Exit(exitCPU)
		}()
	}
	r := bufio.NewReader(in)
	for {
		b, err := readFrame(r, 1<<30)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintf(os.Stderr, "script worker: read request: %v\n", err)
			return 1
		}
		resp := handle(b)
		out1, err := json.Marshal(resp)
		if err != nil {
			out1, _ = json.Marshal(response{Err: &wireError{Msg: fmt.Sprintf("script result: %v", err)}})
		}
		if err := writeFrame(out, out1); err != nil {
			return 1
		}
	}
}

// handle runs one request in this process.
func handle(b []byte) response {
	var req request
	if err := json.Unmarshal(b, &req); err != nil {
		return response{Err: &wireError{Msg: fmt.Sprintf("script request: %v", err)}}
	}
	lim := req.Lim.withDefaults()
	if err := limitCPU(lim.Timeout); err != nil {
		return response{Err: &wireError{Msg: fmt.Sprintf("script worker: %v", err)}}
	}
	vars, err := decodeJSON[map[string]any](req.Vars)
	if err != nil {
		return response{Err: &wireError{Msg: fmt.Sprintf("script variables: %v", err)}}
	}
	changed, result, err := runHere(req.Src, vars, lim)
	if err != nil {
		return response{Err: toWire(err)}
	}
	var resp response
	if resp.Changed, err = json.Marshal(changed); err == nil {
		resp.Result, err = json.Marshal(result)
	}
	if err != nil {
		return response{Err: &wireError{Msg: fmt.Sprintf("script result: %v", err)}}
	}
	return resp
}

func toWire(err error) *wireError {
	var se *Error
	if !errors.As(err, &se) {
		return &wireError{Msg: err.Error()}
	}
	w := &wireError{Line: se.Line, Column: se.Column, Msg: se.Msg}
	switch se.cause {
	case ErrTimeout:
		w.Cause = "timeout"
	case ErrMemoryLimit:
		w.Cause = "memory"
	}
	return w
}

// procStatusKiB reads a "Name:   123 kB" line of /proc/self/status.
func procStatusKiB(name string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", name)
}
