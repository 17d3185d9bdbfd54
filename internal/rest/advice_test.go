package rest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

func TestApplyAdvice(t *testing.T) {
	srv := batontest.MustStartServer(t,
		batontest.WithRunnerConfig(func(c *runner.Config) {
			c.Retry = runner.RetryPolicy{MaxAttempts: 1, Initial: time.Millisecond, Factor: 1}
		}),
		batontest.WithHandler("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			if j.Variables["account"] != "ok" {
				return nil, errors.New("account closed")
			}
			return nil, nil
		})))
	srv.MustDo(t, http.MethodPost, "/api/definitions", []byte(`{"id":"pay","nodes":[{"id":"start","type":"startEvent"},{"id":"pay","type":"serviceTask","taskType":"pay"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"pay"},{"id":"f2","source":"pay","target":"end"}]}`), nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "pay", Variables: map[string]any{"account": "closed"}}, &inst, http.StatusCreated)
	srv.WaitStatus(t, inst.InstanceID, "FAILED", 10*time.Second)
	incs, err := srv.Store.Incidents(context.Background(), store.IncidentFilter{InstanceID: inst.InstanceID})
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents %+v %v", incs, err)
	}
	path := "/api/runtime/incidents/" + incs[0].ID + "/apply-advice"
	// No advice yet: 409.
	if resp, body := srv.Do(t, http.MethodPost, path, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("without advice = %d %s", resp.StatusCode, body)
	}
	// Advice to escalate cannot be applied by a call.
	if err := srv.Store.SetIncidentAdvice(context.Background(), incs[0].ID, []byte(`{"action":"escalate","reason":"unclear","confidence":0.3}`)); err != nil {
		t.Fatal(err)
	}
	if resp, body := srv.Do(t, http.MethodPost, path, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("escalate = %d %s", resp.StatusCode, body)
	}
	// Advice to retry with changed variables is applied with one call.
	if err := srv.Store.SetIncidentAdvice(context.Background(), incs[0].ID, []byte(`{"action":"retry_with_changes","variables":{"account":"ok"},"reason":"r","confidence":0.9}`)); err != nil {
		t.Fatal(err)
	}
	var list baton.IncidentList
	srv.MustDo(t, http.MethodGet, "/api/runtime/incidents?instanceId="+inst.InstanceID, nil, &list, http.StatusOK)
	if len(list.Incidents) != 1 || len(list.Incidents[0].Advice) == 0 {
		t.Fatalf("incident list lacks the advice: %+v", list)
	}
	srv.MustDo(t, http.MethodPost, path, nil, nil, http.StatusOK)
	done := srv.WaitStatus(t, inst.InstanceID, "COMPLETED", 10*time.Second)
	if done.ProcessData["account"] != "ok" {
		t.Fatalf("variables %v", done.ProcessData)
	}
}
