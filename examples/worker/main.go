// Command worker is an external task worker for the loan-approval
// example: it does the "payout" service task. It logs the payout and
// completes the task with {"paidOut": true}.
//
// The payout is external work when no in-process handler serves it: a
// service task with a taskType and no http block (remove the payout's
// "http" from examples/loan-approval.json to try it with baton serve).
//
//	go run ./examples/worker --server http://localhost:8080 --worker-id payout-1
//
// It stops on SIGINT or SIGTERM: it fetches no more tasks, and a payout in
// flight finishes (or its lock lapses) before it exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/batonhq/baton"
)

func main() {
	server := flag.String("server", "http://localhost:8080", "Baton server `URL`")
	token := flag.String("token", "", "bearer `token` for the Baton API (default: none)")
	workerID := flag.String("worker-id", defaultWorkerID(), "worker `id`, unique per running worker")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "worker takes no arguments (got %q)\n", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var opts []baton.ClientOption
	if *token != "" {
		opts = append(opts, baton.WithToken(*token))
	}
	c := baton.NewClient(*server, opts...)
	w := baton.NewWorker(c, *workerID, map[string]baton.WorkerFunc{
		"payout": payout(log),
	}, baton.WorkerOptions{MaxConcurrent: 4, LockDuration: time.Minute, Logger: log})

	log.Info("waiting for payouts", "server", *server, "worker", *workerID)
	if err := w.Run(ctx); err != nil {
		log.Error("worker stopped", "err", err)
		os.Exit(1)
	}
}

// payout pays out a loan. A real one would call the payment provider with
// task.IdempotencyKey, so that a retried payout is not paid twice.
func payout(log *slog.Logger) baton.WorkerFunc {
	return func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
		amount, ok := task.Variables["amount"].(float64)
		if !ok || amount <= 0 {
			// Retrying cannot fix the data: open an incident at once.
			return nil, baton.Permanent(errors.New("payout: the variable amount is not a positive number"))
		}
		log.Info("paying out", "instance", task.InstanceID, "amount", amount,
			"attempt", task.Attempt, "idempotencyKey", task.IdempotencyKey)
		return map[string]any{"paidOut": true}, nil
	}
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "worker"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
