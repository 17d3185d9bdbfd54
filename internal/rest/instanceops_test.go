package rest_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/runner"
)

// TestSetVariables: an operator's change is merged into the instance and
// recorded in the history with what was set and who set it; an ended
// instance and an empty change are refused.
func TestSetVariables(t *testing.T) {
	srv, _ := loanServer(t)
	srv.Deploy(t, loanExample)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 20000, "applicant": map[string]any{"name": "Ann", "email": "ann@example.com"}}}, &inst, http.StatusCreated)
	var got baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/instance/"+inst.InstanceID+"/variables",
		baton.SetVariablesRequest{Variables: map[string]any{"amount": 15000, "applicant": map[string]any{"email": "ann@example.org"}}}, &got, http.StatusOK)
	if got.ProcessData["amount"] != float64(15000) {
		t.Errorf("amount = %v, want 15000", got.ProcessData["amount"])
	}
	if a, _ := got.ProcessData["applicant"].(map[string]any); len(a) != 1 || a["email"] != "ann@example.org" {
		t.Errorf("applicant = %v, want it replaced by the new value", got.ProcessData["applicant"])
	}
	last := got.ExecutionHistory[len(got.ExecutionHistory)-1]
	set, _ := last.Result.(map[string]any)
	if last.Action != "variables" || last.Actor == "" || set == nil || set["set"] == nil {
		t.Errorf("last history entry = %+v, want a variables entry with the actor and what was set", last)
	}
	resp, body := srv.Do(t, http.MethodPost, "/api/runtime/instance/"+inst.InstanceID+"/variables", `{"variables": {}}`)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty change = %d %s, want 422", resp.StatusCode, body)
	}
	srv.MustDo(t, http.MethodPost, "/api/runtime/instance/"+inst.InstanceID+"/cancel", nil, nil, http.StatusOK)
	resp, body = srv.Do(t, http.MethodPost, "/api/runtime/instance/"+inst.InstanceID+"/variables", baton.SetVariablesRequest{Variables: map[string]any{"x": 1}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "ended") {
		t.Errorf("change of an ended instance = %d %s, want 409", resp.StatusCode, body)
	}
	resp, _ = srv.Do(t, http.MethodPost, "/api/runtime/instance/no-such/variables", baton.SetVariablesRequest{Variables: map[string]any{"x": 1}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown instance = %d, want 404", resp.StatusCode)
	}
}

// TestInstanceJobs: a job that failed shows its attempts, last error and
// the time of its next retry.
func TestInstanceJobs(t *testing.T) {
	var calls atomic.Int32
	srv := batontest.MustStartServer(t, batontest.WithHandler("service:boom", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
		calls.Add(1)
		return nil, errBusy
	})))
	srv.MustDo(t, http.MethodPost, "/api/definitions", strings.Replace(boomWorkflow, `"taskType":"boom"`, `"taskType":"boom","retry":{"max":5,"backoff":"PT1H"}`, 1), nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "boom"}, &inst, http.StatusCreated)
	var jobs baton.InstanceJobList
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs = baton.InstanceJobList{}
		srv.MustDo(t, http.MethodGet, "/api/runtime/instance/"+inst.InstanceID+"/jobs", nil, &jobs, http.StatusOK)
		if len(jobs.Jobs) == 1 && jobs.Jobs[0].LastError != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(jobs.Jobs) != 1 {
		t.Fatalf("jobs = %+v, want the service call", jobs)
	}
	j := jobs.Jobs[0]
	if j.NodeID != "work" || j.State != "available" || j.Attempts != 1 || !strings.Contains(j.LastError, "busy") ||
		j.NextAttemptAt.Before(time.Now().Add(time.Minute)) || j.LastFailure.IsZero() || !j.LeaseUntil.IsZero() {
		t.Errorf("job = %+v, want work available after 1 attempt, last error busy, next retry minutes away, no lease", j)
	}
	resp, _ := srv.Do(t, http.MethodGet, "/api/runtime/instance/no-such/jobs", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("jobs of an unknown instance = %d, want 404", resp.StatusCode)
	}
}

var errBusy = errorString("service busy")

type errorString string

func (e errorString) Error() string { return string(e) }
