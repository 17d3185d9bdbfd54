package rest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	baton "github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/runner"
)

type signalInput struct {
	Body baton.SignalRequest
}

type signalOutput struct {
	Body baton.SignalResult
}

func (s *server) registerSignals(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "broadcast-signal", Method: http.MethodPost, Path: "/api/runtime/signals", Tags: []string{"Runtime"},
		Summary: "Broadcast a signal",
		Description: "Delivers a signal to every instance waiting for it (catch events, boundary events, event sub-processes) and starts the latest version of every definition with a signal start event of that name. " +
			"It answers how many instances caught it and which were started; reaching none is no error.",
		Errors: []int{400, 413, 422},
	}, s.signal)
}

func (s *server) signal(ctx context.Context, in *signalInput) (*signalOutput, error) {
	b := in.Body
	res, err := s.r.BroadcastSignal(ctx, runner.Signal{Name: b.Name, ID: b.SignalID, Variables: b.Variables, Actor: actor(ctx)})
	if err != nil {
		return nil, fmt.Errorf("broadcast signal %q: %w", b.Name, err)
	}
	started := res.Started
	if started == nil {
		started = []string{}
	}
	return &signalOutput{Body: baton.SignalResult{Delivered: res.Delivered, Started: started}}, nil
}
