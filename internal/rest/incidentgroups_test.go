package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/runner"
)

// TestIncidentGroups: open incidents grouped by definition, node and
// message; a group skipped, a group retried once its service is back,
// one incident's instance cancelled, and refusals named.
func TestIncidentGroups(t *testing.T) {
	var up atomic.Bool
	srv := batontest.MustStartServer(t, batontest.WithHandler("service:boom", runner.HandlerFunc(func(_ context.Context, job *runner.Job) (map[string]any, error) {
		if up.Load() {
			return map[string]any{"ok": true}, nil
		}
		return nil, runner.Permanent(fmt.Errorf("down for %v", job.Variables["kind"]))
	})))
	srv.MustDo(t, http.MethodPost, "/api/definitions", boomWorkflow, nil, http.StatusCreated)
	start := func(kind string) string {
		var inst baton.Instance
		srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "boom", Variables: map[string]any{"kind": kind}}, &inst, http.StatusCreated)
		srv.WaitStatus(t, inst.InstanceID, baton.StatusFailed, 10*time.Second)
		return inst.InstanceID
	}
	as := []string{start("a"), start("a"), start("a")}
	b := start("b")

	var groups baton.IncidentGroupList
	srv.MustDo(t, http.MethodGet, "/api/runtime/incident-groups", nil, &groups, http.StatusOK)
	if len(groups.Groups) != 2 || groups.Groups[0].Count != 3 || groups.Groups[1].Count != 1 ||
		!strings.Contains(groups.Groups[0].Message, "down for a") || groups.Groups[0].NodeID != "work" || groups.Groups[0].DefinitionID != "boom" {
		t.Fatalf("groups = %+v, want boom/work 'down for a' x3 then 'down for b' x1", groups)
	}
	ga, gb := groups.Groups[0], groups.Groups[1]
	var one baton.IncidentList
	srv.MustDo(t, http.MethodGet, "/api/runtime/incidents?state=open&definitionId=boom&nodeId=work&message="+url.QueryEscape(gb.Message), nil, &one, http.StatusOK)
	if len(one.Incidents) != 1 || one.Incidents[0].InstanceID != b {
		t.Errorf("incidents of group b = %+v, want the one of %s", one, b)
	}

	resolve := func(req baton.ResolveIncidentsRequest) baton.ResolveIncidentsResult {
		t.Helper()
		var res baton.ResolveIncidentsResult
		srv.MustDo(t, http.MethodPost, "/api/runtime/incidents/resolve", req, &res, http.StatusOK)
		return res
	}
	if res := resolve(baton.ResolveIncidentsRequest{DefinitionID: "boom", NodeID: "work", Message: gb.Message, Action: "skip"}); res.Resolved != 1 || len(res.Failed) != 0 {
		t.Errorf("skip group b = %+v", res)
	}
	srv.WaitStatus(t, b, baton.StatusCompleted, 10*time.Second)

	// The first instance of group a is cancelled by its incident's id.
	var inc baton.IncidentList
	srv.MustDo(t, http.MethodGet, "/api/runtime/incidents?state=open&instanceId="+as[0], nil, &inc, http.StatusOK)
	if res := resolve(baton.ResolveIncidentsRequest{IncidentIDs: []string{inc.Incidents[0].ID}, Action: "cancel"}); res.Resolved != 1 {
		t.Errorf("cancel one = %+v", res)
	}
	srv.WaitStatus(t, as[0], baton.StatusCancelled, 10*time.Second)
	// Resolving it again names it as no longer open.
	if res := resolve(baton.ResolveIncidentsRequest{IncidentIDs: []string{inc.Incidents[0].ID, "no-such"}, Action: "retry"}); res.Resolved != 0 ||
		len(res.Failed) != 2 || !strings.Contains(res.Failed[0].Error, "not open") || res.Failed[1].IncidentID != "no-such" {
		t.Errorf("resolve a closed and an unknown incident = %+v", res)
	}

	// The service is back: retry the rest of group a.
	up.Store(true)
	if res := resolve(baton.ResolveIncidentsRequest{DefinitionID: ga.DefinitionID, NodeID: ga.NodeID, Message: ga.Message, Action: "retry"}); res.Resolved != 2 || len(res.Failed) != 0 {
		t.Errorf("retry group a = %+v, want the 2 still open", res)
	}
	for _, id := range as[1:] {
		srv.WaitStatus(t, id, baton.StatusCompleted, 10*time.Second)
	}
	srv.MustDo(t, http.MethodGet, "/api/runtime/incident-groups", nil, &groups, http.StatusOK)
	if len(groups.Groups) != 0 {
		t.Errorf("groups after resolving = %+v, want none", groups)
	}

	// Refusals.
	for body, loc := range map[string]string{
		`{"action":"retry"}`: "body.incidentIds",
		`{"action":"retry","incidentIds":["x"],"definitionId":"boom","nodeId":"work"}`: "body.incidentIds",
		`{"action":"retry","definitionId":"boom"}`:                                     "body.nodeId",
		`{"action":"move","incidentIds":["x"]}`:                                        "body.action",
	} {
		resp, data := srv.Do(t, http.MethodPost, "/api/runtime/incidents/resolve", body)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(data), loc) {
			t.Errorf("POST %s = %d %s, want 422 naming %s", body, resp.StatusCode, data, loc)
		}
	}
}
