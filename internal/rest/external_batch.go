package rest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/runner"
)

type completeBatchInput struct {
	Body baton.CompleteExternalBatchRequest
}

type completeBatchOutput struct {
	Body baton.CompleteExternalBatchResult
}

func (s *server) registerExternalBatch(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "complete-external-tasks", Method: http.MethodPost, Path: "/api/external-tasks/complete-batch",
		Tags:    []string{"External tasks"},
		Summary: "Complete many external tasks",
		Description: "Completes up to 1000 tasks locked to the worker, each as its own complete would: in its own transaction, " +
			"only under the worker's unexpired lock, exactly once. The answer is 200 with one result per task, in order: status 204 " +
			"when it completed, otherwise the status and detail its own complete would have answered (404, 409, 422). " +
			"With an Idempotency-Key a repeat gets the first answer again; without one, a repeat answers 409 for the tasks that completed the first time.",
		Errors: []int{400, 413, 422},
	}, s.completeExternalBatch)
}

func (s *server) completeExternalBatch(ctx context.Context, in *completeBatchInput) (*completeBatchOutput, error) {
	req := in.Body
	if len(req.Tasks) == 0 {
		return nil, invalidField("body.tasks", "name at least one task to complete")
	}
	seen := make(map[string]int, len(req.Tasks))
	tasks := make([]runner.ExternalCompletion, len(req.Tasks))
	for i, t := range req.Tasks {
		if j, dup := seen[t.ID]; dup {
			return nil, invalidField(fmt.Sprintf("body.tasks[%d].id", i), fmt.Sprintf("task %q is also tasks[%d]; name each task once", t.ID, j))
		}
		seen[t.ID] = i
		tasks[i] = runner.ExternalCompletion{ID: t.ID, Variables: t.Variables}
	}
	errs := s.r.CompleteExternalBatch(ctx, req.WorkerID, tasks)
	out := &completeBatchOutput{Body: baton.CompleteExternalBatchResult{Results: make([]baton.ExternalTaskResult, len(tasks))}}
	for i, err := range errs {
		res := baton.ExternalTaskResult{ID: tasks[i].ID, Status: http.StatusNoContent}
		if err != nil {
			p := s.toProblem(ctx, s.externalError(ctx, "complete", tasks[i].ID, req.WorkerID, err))
			res.Status, res.Detail = p.Status, p.Detail
		}
		out.Body.Results[i] = res
	}
	return out, nil
}
