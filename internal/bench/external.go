package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
)

// externalWorkers runs the model with its service tasks done by
// o.External Go-client workers (baton.Worker) over a real HTTP server
// on 127.0.0.1: fetch-and-lock, complete, and the instance moves on, all
// through the REST API as an external worker in another process would.
func externalWorkers(ctx context.Context, r *runner.Runner, def string, o Options, res Result, runs *atomic.Int64) (Result, error) {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return res, err
	}
	token := hex.EncodeToString(secret)
	verifier, err := auth.NewTokens(auth.TokenEntry{User: "bench", Role: auth.Admin, TokenSHA256: auth.HashToken(token)})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	done := make(chan struct{})
	hs := &http.Server{Handler: rest.New(rest.Config{Runner: r, Auth: verifier, Done: done}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		close(done)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()

	// Enough idle connections for every worker's long poll and reports.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4 * o.Concurrency
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	client := baton.NewClient("http://"+ln.Addr().String(), baton.WithToken(token), baton.WithHTTPClient(hc))
	work := func(context.Context, baton.ExternalTask) (map[string]any, error) {
		runs.Add(1)
		return nil, nil
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	werrs := make(chan error, o.External)
	per := max(o.Concurrency/o.External, 1) * 2 // tasks in flight per worker
	for i := 0; i < o.External; i++ {
		w := baton.NewWorker(client, fmt.Sprintf("bench-%d", i), map[string]baton.WorkerFunc{"work": work},
			baton.WorkerOptions{MaxConcurrent: per, WaitFor: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(wctx); err != nil {
				werrs <- err
			}
		}()
	}
	res, err = throughput(ctx, r, def, o, res, runs)
	stop()
	wg.Wait()
	close(werrs)
	if werr := <-werrs; werr != nil && !errors.Is(werr, context.Canceled) {
		return res, fmt.Errorf("external worker: %w", werr)
	}
	return res, err
}
