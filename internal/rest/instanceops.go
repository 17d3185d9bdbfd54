package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// The instance page's operator tools: edit variables, see each job's
// retries.

type setVariablesInput struct {
	ID   string `path:"id" doc:"Instance id."`
	Body baton.SetVariablesRequest
}

type instanceJobsOutput struct {
	Body baton.InstanceJobList
}

// maxInstanceJobs bounds the job list of one instance (a long-running
// instance with a timer cycle can have many).
const maxInstanceJobs = 1000

func (s *server) registerInstanceOps(api huma.API) {
	tags := []string{"Runtime"}
	handle(s, api, huma.Operation{
		OperationID: "set-variables", Method: http.MethodPost, Path: "/api/runtime/instance/{id}/variables", Tags: tags,
		Summary: "Change an instance's variables",
		Description: "Sets the variables of a running, waiting or failed instance (each replaces the variable of its name; the others are kept) and returns the instance. " +
			"The history records the change, with what was set and the caller. An ended instance is a 409.",
		Errors: []int{400, 404, 409, 413, 422},
	}, s.setVariables)
	handle(s, api, huma.Operation{
		OperationID: "instance-jobs", Method: http.MethodGet, Path: "/api/runtime/instance/{id}/jobs", Tags: tags,
		Summary:     "An instance's jobs",
		Description: "Every job of the instance (service calls, timers, sends...), oldest first, with its attempts, last error and next attempt time.",
		Errors:      []int{404},
	}, s.instanceJobs)
}

func (s *server) setVariables(ctx context.Context, in *setVariablesInput) (*instanceOutput, error) {
	_, err := s.r.SetVariables(ctx, in.ID, in.Body.Variables, actor(ctx))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("instance %q does not exist: %w", in.ID, store.ErrNotFound)
	case errors.Is(err, engine.ErrEnded):
		return nil, newProblem(http.StatusConflict, fmt.Sprintf("instance %q has ended: its variables can no longer change", in.ID))
	case err != nil:
		return nil, fmt.Errorf("set variables of %q: %w", in.ID, err)
	}
	return s.instanceOut(ctx, in.ID)
}

func (s *server) instanceJobs(ctx context.Context, in *idPath) (*instanceJobsOutput, error) {
	if _, err := s.store().Instance(ctx, in.ID); err != nil {
		return nil, fmt.Errorf("instance %q: %w", in.ID, err)
	}
	out := &instanceJobsOutput{Body: baton.InstanceJobList{Jobs: []baton.InstanceJob{}}}
	after := ""
	for len(out.Body.Jobs) < maxInstanceJobs {
		rows, err := s.store().Jobs(ctx, store.JobFilter{InstanceID: in.ID, After: after, Limit: store.MaxLimit})
		if err != nil {
			return nil, fmt.Errorf("jobs of %q: %w", in.ID, err)
		}
		for _, j := range rows {
			job := baton.InstanceJob{ID: j.ID, NodeID: j.NodeID, Kind: j.Kind, TaskType: j.TaskType, State: j.State, Attempts: j.Attempt,
				MaxAttempts: j.MaxAttempts, LastError: j.LastError, LastFailure: j.LastFailureAt.UTC(), CreatedAt: j.CreatedAt.UTC()}
			switch j.State {
			case store.JobAvailable:
				job.NextAttemptAt = j.RunAt.UTC()
			case store.JobRunning:
				job.LeaseUntil = j.LeaseUntil.UTC()
			}
			out.Body.Jobs = append(out.Body.Jobs, job)
		}
		if len(rows) < store.MaxLimit {
			break
		}
		after = rows[len(rows)-1].ID
	}
	// Job ids order by instance and sequence as text ("-10" before "-2"):
	// order by creation instead.
	sort.SliceStable(out.Body.Jobs, func(i, j int) bool { return out.Body.Jobs[i].CreatedAt.Before(out.Body.Jobs[j].CreatedAt) })
	return out, nil
}
