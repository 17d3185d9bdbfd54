package baton

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxCompleteBatch bounds the tasks of one complete-batch request from a
// worker (the server takes up to 1000).
const maxCompleteBatch = 200

// completion is a task result waiting to be sent in a batch.
type completion struct {
	ctx  context.Context
	item CompleteExternalBatchItem
	done chan error
}

// completer sends the completions of a worker's tasks in batches: while
// one complete-batch request is out, the completions that arrive queue up
// and go together in the next. A lone completion goes at once, so
// batching adds no wait; under load it saves a round trip and a request
// per task. Against a server without the batch endpoint it completes each
// task on its own.
type completer struct {
	c      *Client
	worker string
	queue  chan *completion
	single atomic.Bool // the server has no complete-batch
}

func newCompleter(c *Client, worker string) *completer {
	return &completer{c: c, worker: worker, queue: make(chan *completion, maxCompleteBatch)}
}

// complete sends one task's completion in the next batch and returns its
// own result: nil, a *Problem for the task (such as 409 when its lock was
// lost), or the error of the whole request (the server unreachable).
func (b *completer) complete(ctx context.Context, id string, vars map[string]any) error {
	if b.single.Load() {
		return b.c.CompleteExternal(ctx, id, CompleteExternalRequest{WorkerID: b.worker, Variables: vars})
	}
	c := &completion{ctx: ctx, item: CompleteExternalBatchItem{ID: id, Variables: vars}, done: make(chan error, 1)}
	select {
	case b.queue <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		// The batch may still complete it; the caller gives up on the task.
		return ctx.Err()
	}
}

// run sends batches until stop is closed and the queue is empty.
func (b *completer) run(stop <-chan struct{}) {
	for {
		var first *completion
		select {
		case first = <-b.queue:
		case <-stop:
			return
		}
		batch := []*completion{first}
	fill:
		for len(batch) < maxCompleteBatch {
			select {
			case c := <-b.queue:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		b.send(batch)
	}
}

// send sends one batch and hands each completion its result.
func (b *completer) send(batch []*completion) {
	live := batch[:0]
	deadline := time.Time{}
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.done <- err // its lock lapsed while it waited
			continue
		}
		live = append(live, c)
		if d, ok := c.ctx.Deadline(); ok && (deadline.IsZero() || d.After(deadline)) {
			deadline = d
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	}
	defer cancel()
	if b.single.Load() {
		b.sendSingly(live)
		return
	}
	req := CompleteExternalBatchRequest{WorkerID: b.worker, Tasks: make([]CompleteExternalBatchItem, len(live))}
	for i, c := range live {
		req.Tasks[i] = c.item
	}
	res, err := b.c.CompleteExternalBatch(ctx, req)
	if err != nil && IsStatus(err, http.StatusNotFound, http.StatusMethodNotAllowed) {
		// A server from before complete-batch.
		b.single.Store(true)
		b.sendSingly(live)
		return
	}
	if err == nil && len(res.Results) != len(live) {
		err = &Problem{Status: http.StatusBadGateway, Title: "Bad Gateway",
			Detail: "complete-batch answered a different number of results than tasks sent"}
	}
	for i, c := range live {
		switch {
		case err != nil:
			c.done <- err
		case res.Results[i].Completed():
			c.done <- nil
		default:
			r := res.Results[i]
			c.done <- &Problem{Status: r.Status, Title: http.StatusText(r.Status), Detail: r.Detail}
		}
	}
}

func (b *completer) sendSingly(batch []*completion) {
	var wg sync.WaitGroup
	for _, c := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.done <- b.c.CompleteExternal(c.ctx, c.item.ID, CompleteExternalRequest{WorkerID: b.worker, Variables: c.item.Variables})
		}()
	}
	wg.Wait()
}
