package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
)

// callers of the authorization table: the four test users, no token and
// a token nobody issued.
var callers = []struct{ name, token string }{
	{"admin", batontest.AdminToken},
	{"operator", batontest.ManagerToken}, // manager: operator, group managers
	{"viewer", batontest.AnnToken},       // ann: viewer, group managers: a candidate of the review
	{"non-candidate", batontest.ClerkToken},
	{"no token", ""},
	{"bad token", "not-a-token"},
}

const boomWorkflow = `{"id":"boom","nodes":[
  {"id":"start","type":"startEvent"},
  {"id":"work","type":"serviceTask","taskType":"boom"},
  {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"}]}`

// authEnv is a strict server (no token: 401) with the loan example, a
// workflow that fails, and fixtures made fresh for each request.
type authEnv struct {
	t     *testing.T
	srv   *batontest.Server
	admin *batontest.Server
}

func newAuthEnv(t *testing.T) *authEnv {
	srv, _ := loanServer(t, batontest.WithStrictAuth(),
		batontest.WithHandler("service:boom", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
			return nil, runner.Permanent(errors.New("boom"))
		})))
	srv.Deploy(t, loanExample)
	srv.MustDo(t, http.MethodPost, "/api/definitions", boomWorkflow, nil, http.StatusCreated)
	return &authEnv{t: t, srv: srv, admin: srv.As(batontest.AdminToken)}
}

// fixture is what one request works on.
type fixture struct {
	inst, task string
}

// waiting starts a large loan: WAITING at the review, a task offered to
// the group managers.
func (e *authEnv) waiting() fixture {
	var inst baton.Instance
	e.admin.MustDo(e.t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 20000}}, &inst, http.StatusCreated)
	var tl baton.TaskList
	e.admin.MustDo(e.t, http.MethodGet, "/api/runtime/tasks?instanceId="+inst.InstanceID, nil, &tl, http.StatusOK)
	if len(tl.Tasks) != 1 {
		e.t.Fatalf("tasks of %s: %+v", inst.InstanceID, tl)
	}
	return fixture{inst: inst.InstanceID, task: tl.Tasks[0].ID}
}

// claimed is waiting with the review claimed by ann.
func (e *authEnv) claimed() fixture {
	f := e.waiting()
	e.srv.As(batontest.AnnToken).MustDo(e.t, http.MethodPost, "/api/runtime/tasks/"+f.task+"/claim", nil, nil, http.StatusOK)
	return f
}

// failed is an instance whose job failed for good: FAILED with an
// incident and a dead letter.
func (e *authEnv) failed() fixture {
	var inst baton.Instance
	e.admin.MustDo(e.t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "boom"}, &inst, http.StatusCreated)
	e.admin.WaitStatus(e.t, inst.InstanceID, baton.StatusFailed, 10*time.Second)
	return fixture{inst: inst.InstanceID}
}

// state is what a refused request must leave as it was.
func (e *authEnv) state(f fixture) string {
	if f.inst == "" {
		return ""
	}
	inst := e.admin.Instance(e.t, f.inst)
	s := inst.Status + " " + strings.Join(inst.CurrentNodeIDs, ",")
	if f.task != "" {
		var task baton.Task
		e.admin.MustDo(e.t, http.MethodGet, "/api/runtime/tasks/"+f.task, nil, &task, http.StatusOK)
		s += " task " + task.State + " assignee " + task.Assignee
	}
	return s
}

type authCase struct {
	op     string // operation id
	name   string // when one operation has several cases
	method string
	path   func(fixture) string
	body   func(fixture) any
	setup  func(*authEnv) fixture
	// want is the status for admin, operator, viewer (a candidate) and
	// non-candidate; no token and a bad token are always 401.
	want [4]int
}

func fixed(s string) func(fixture) string { return func(fixture) string { return s } }

const (
	ok        = http.StatusOK
	created   = http.StatusCreated
	accepted  = http.StatusAccepted
	forbidden = http.StatusForbidden
	notFound  = http.StatusNotFound
)

var (
	everyone     = [4]int{ok, ok, ok, ok}
	candidates   = [4]int{ok, ok, ok, forbidden}
	operators    = [4]int{ok, ok, forbidden, forbidden}
	operators4   = [4]int{notFound, notFound, forbidden, forbidden}
	adminsOnly   = [4]int{ok, forbidden, forbidden, forbidden}
	instancePath = func(suffix string) func(fixture) string {
		return func(f fixture) string { return "/api/runtime/instance/" + f.inst + suffix }
	}
	userTaskPath = func(suffix string) func(fixture) string {
		return func(f fixture) string { return "/api/runtime/tasks/" + f.task + suffix }
	}
	waitingCase = (*authEnv).waiting
)

func authCases() []authCase {
	loanSrc, _ := os.ReadFile(loanExample)
	return []authCase{
		// Reading: every role.
		{op: "get-instance", method: "GET", path: instancePath(""), setup: waitingCase, want: everyone},
		{op: "instance-history", method: "GET", path: instancePath("/history"), setup: waitingCase, want: everyone},
		{op: "instance-record", method: "GET", path: instancePath("/record"), setup: waitingCase, want: everyone},
		{op: "instance-decisions", method: "GET", path: instancePath("/decisions"), setup: waitingCase, want: everyone},
		{op: "list-instances", method: "GET", path: fixed("/api/runtime/instances"), want: everyone},
		{op: "list-incidents", method: "GET", path: fixed("/api/runtime/incidents"), want: everyone},
		{op: "instance-jobs", method: "GET", path: instancePath("/jobs"), setup: waitingCase, want: everyone},
		{op: "incident-groups", method: "GET", path: fixed("/api/runtime/incident-groups"), want: everyone},
		{op: "list-dead-letters", method: "GET", path: fixed("/api/runtime/dead-letters"), want: everyone},
		{op: "sla-report", method: "GET", path: fixed("/api/runtime/sla"), want: everyone},
		{op: "shadow-report", method: "GET", path: fixed("/api/decisions/shadow-report"), want: everyone},
		{op: "list-notifications", method: "GET", path: fixed("/api/notifications"), want: everyone},
		{op: "list-definitions", method: "GET", path: fixed("/api/definitions"), want: everyone},
		{op: "get-definition", method: "GET", path: fixed("/api/definitions/loan-approval"), want: everyone},
		{op: "list-definition-versions", method: "GET", path: fixed("/api/definitions/loan-approval/versions"), want: everyone},
		{op: "get-definition-bpmn", method: "GET", path: fixed("/api/definitions/loan-approval/bpmn"), want: everyone},
		{op: "get-start-form", method: "GET", path: fixed("/api/definitions/loan-approval/start-form"), want: everyone},
		{op: "whoami", method: "GET", path: fixed("/api/me"), want: everyone},
		{op: "list-batches", method: "GET", path: fixed("/api/runtime/batches"), want: everyone},
		{op: "get-batch", method: "GET", path: fixed("/api/runtime/batches/no-such"), want: [4]int{notFound, notFound, notFound, notFound}},
		{op: "list-tasks", method: "GET", path: fixed("/api/runtime/tasks"), want: everyone},
		{op: "list-tasks", name: "all=true", method: "GET", path: fixed("/api/runtime/tasks?all=true"), want: operators},
		{op: "get-task", method: "GET", path: userTaskPath(""), setup: waitingCase, want: everyone},
		{op: "get-task-form", method: "GET", path: userTaskPath("/form"), setup: waitingCase, want: everyone},

		// Tasks: the assignee or a candidate (an admin always); unclaim
		// and delegate: the assignee (ann) or an operator.
		{op: "complete-task", method: "POST", path: fixed("/api/runtime/complete-task"), setup: waitingCase, want: candidates,
			body: func(f fixture) any {
				return baton.CompleteTaskRequest{TaskID: f.task, Variables: map[string]any{"approved": true}}
			}},
		{op: "claim-task", method: "POST", path: userTaskPath("/claim"), setup: waitingCase, want: candidates},
		{op: "unclaim-task", method: "POST", path: userTaskPath("/unclaim"), setup: (*authEnv).claimed, want: candidates},
		{op: "delegate-task", method: "POST", path: userTaskPath("/delegate"), setup: (*authEnv).claimed, want: candidates,
			body: func(fixture) any { return rest.DelegateRequest{User: "bob"} }},

		// Operating: operators.
		{op: "start-instance", method: "POST", path: fixed("/api/runtime/start"), want: [4]int{created, created, forbidden, forbidden},
			body: func(fixture) any {
				return baton.StartRequest{DefinitionID: "loan-approval", Variables: map[string]any{"amount": 20000}}
			}},
		{op: "cancel-instance", method: "POST", path: instancePath("/cancel"), setup: waitingCase, want: operators},
		{op: "recover-instance", method: "POST", path: func(f fixture) string { return "/api/runtime/recover/" + f.inst },
			setup: (*authEnv).failed, want: operators},
		{op: "modify-instance", method: "POST", path: instancePath("/modify"), setup: waitingCase, want: operators,
			body: func(fixture) any {
				return baton.ModifyRequest{Instructions: []baton.ModifyInstruction{{Op: "setVariables", Variables: map[string]any{"note": "x"}}}}
			}},
		{op: "migrate-instances", method: "POST", path: fixed("/api/runtime/migrate"), setup: waitingCase, want: operators,
			body: func(f fixture) any {
				return baton.MigrateRequest{InstanceIDs: []string{f.inst}, DryRun: true, TargetDefinition: baton.DefinitionRef{ID: "loan-approval"}}
			}},
		{op: "create-batch", method: "POST", path: fixed("/api/runtime/batches"), want: [4]int{accepted, accepted, forbidden, forbidden},
			body: func(fixture) any { return baton.BatchRequest{Kind: "cancel", InstanceIDs: []string{"no-such"}} }},
		{op: "correlate-message", method: "POST", path: fixed("/api/runtime/messages"), want: [4]int{accepted, accepted, forbidden, forbidden},
			body: func(fixture) any { return baton.MessageRequest{Name: "nobody-waits", TimeToLive: "PT1M"} }},
		{op: "broadcast-signal", method: "POST", path: fixed("/api/runtime/signals"), want: operators,
			body: func(fixture) any { return baton.SignalRequest{Name: "nobody-waits"} }},
		{op: "drain-dead-letters", method: "POST", path: fixed("/api/runtime/dead-letters/drain"), setup: (*authEnv).failed, want: operators,
			body: func(f fixture) any { return baton.DrainRequest{InstanceID: f.inst, Action: "discard"} }},
		{op: "set-variables", method: "POST", path: instancePath("/variables"), setup: waitingCase, want: operators,
			body: func(fixture) any { return baton.SetVariablesRequest{Variables: map[string]any{"note": "checked"}} }},
		{op: "resolve-incidents", method: "POST", path: fixed("/api/runtime/incidents/resolve"), want: operators,
			body: func(fixture) any {
				return baton.ResolveIncidentsRequest{IncidentIDs: []string{"no-such"}, Action: "retry"}
			}},
		{op: "resend-notification", method: "POST", path: fixed("/api/notifications/no-such/resend"), want: operators4},
		{op: "apply-advice", method: "POST", path: fixed("/api/runtime/incidents/no-such/apply-advice"), want: operators4},
		{op: "evaluate-decision", method: "POST", path: fixed("/api/decisions/no-such/evaluate"), want: operators4,
			body: func(fixture) any { return map[string]any{} }},
		{op: "fetch-and-lock", method: "POST", path: fixed("/api/external-tasks/fetch-and-lock"), want: operators,
			body: func(fixture) any { return baton.FetchAndLockRequest{WorkerID: "w", Types: []string{"nothing"}} }},
		{op: "complete-external-task", method: "POST", path: fixed("/api/external-tasks/no-such/complete"), want: operators4,
			body: func(fixture) any { return baton.CompleteExternalRequest{WorkerID: "w"} }},
		{op: "complete-external-tasks", method: "POST", path: fixed("/api/external-tasks/complete-batch"), want: operators,
			body: func(fixture) any {
				return baton.CompleteExternalBatchRequest{WorkerID: "w", Tasks: []baton.CompleteExternalBatchItem{{ID: "no-such"}}}
			}},
		{op: "fail-external-task", method: "POST", path: fixed("/api/external-tasks/no-such/failure"), want: operators4,
			body: func(fixture) any { return baton.ExternalFailureRequest{WorkerID: "w", ErrorMessage: "x"} }},
		{op: "external-task-bpmn-error", method: "POST", path: fixed("/api/external-tasks/no-such/bpmn-error"), want: operators4,
			body: func(fixture) any { return baton.ExternalBPMNErrorRequest{WorkerID: "w", ErrorCode: "E"} }},
		{op: "extend-external-task-lock", method: "POST", path: fixed("/api/external-tasks/no-such/extend-lock"), want: operators4,
			body: func(fixture) any { return baton.ExtendLockRequest{WorkerID: "w", NewDuration: "PT1M"} }},

		// Deploying: admins.
		{op: "deploy-definition", method: "POST", path: fixed("/api/definitions"), want: adminsOnly,
			body: func(fixture) any { return loanSrc }},
	}
}

// TestAuthorizationTable tries every protected endpoint as each role, a
// user who is not a candidate of the task, without a token and with a bad
// one; a refused request is a 401 or 403 problem document and changes
// nothing.
func TestAuthorizationTable(t *testing.T) {
	e := newAuthEnv(t)
	for _, tc := range authCases() {
		name := tc.op
		if tc.name != "" {
			name += " " + tc.name
		}
		t.Run(name, func(t *testing.T) {
			e.t = t
			for i, c := range callers {
				want := http.StatusUnauthorized
				if i < 4 {
					want = tc.want[i]
				}
				var f fixture
				if tc.setup != nil {
					f = tc.setup(e)
				}
				before := e.state(f)
				var body any
				if tc.body != nil {
					body = tc.body(f)
				}
				resp, data := e.srv.As(c.token).Do(t, tc.method, tc.path(f), body)
				if resp.StatusCode != want {
					t.Errorf("%s %s as %s = %d, want %d: %.300s", tc.method, tc.path(f), c.name, resp.StatusCode, want, data)
					continue
				}
				if want != http.StatusUnauthorized && want != http.StatusForbidden {
					continue
				}
				checkRefusal(t, resp, data, want)
				if after := e.state(f); after != before {
					t.Errorf("%s %s as %s was refused but changed %q to %q", tc.method, tc.path(f), c.name, before, after)
				}
			}
		})
	}
	e.t = t

	// The public endpoints need no token.
	for _, p := range []string{"/healthz", "/readyz", "/api/openapi.json", "/api/openapi.yaml"} {
		if resp, data := e.srv.As("").Do(t, http.MethodGet, p, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token = %d %.200s, want 200", p, resp.StatusCode, data)
		}
	}
	// Unknown paths do not tell a caller without a token what exists.
	if resp, _ := e.srv.As("").Do(t, http.MethodGet, "/api/nothing-here", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown path without a token = %d, want 401", resp.StatusCode)
	}
}

func checkRefusal(t *testing.T, resp *http.Response, data []byte, status int) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%d with content type %q, want application/problem+json", status, ct)
	}
	var p baton.Problem
	if err := json.Unmarshal(data, &p); err != nil || p.Status != status || p.Title == "" || p.Detail == "" {
		t.Errorf("refusal %s is not a problem document with status %d, a title and a detail (%v)", data, status, err)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
	}
	if strings.Contains(string(data), "not-a-token") || strings.Contains(string(data), batontest.ClerkToken) {
		t.Errorf("the refusal echoes the token: %s", data)
	}
}

// TestEveryOperationHasARole: the role table lists exactly the operations
// the API serves, the table test tries each of them, and the OpenAPI
// document says the role of each.
func TestEveryOperationHasARole(t *testing.T) {
	srv := batontest.MustStartServer(t)
	resp, data := srv.Do(t, http.MethodGet, "/api/openapi.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi = %d", resp.StatusCode)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Role        string                `json:"x-baton-role"`
			Security    []map[string][]string `json:"security"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Components.SecuritySchemes["bearer"] == nil {
		t.Errorf("openapi.json has no bearer security scheme")
	}
	roles := rest.Roles()
	var served []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			served = append(served, op.OperationID)
			want, ok := roles[op.OperationID]
			switch {
			case !ok:
				t.Errorf("%s %s (%s) has no entry in the role table", strings.ToUpper(method), path, op.OperationID)
			case want == "none":
				if op.Role != "" {
					t.Errorf("public %s says it needs %q", op.OperationID, op.Role)
				}
			case op.Role != want || len(op.Security) == 0:
				t.Errorf("%s documents role %q and security %v, want %q and bearer", op.OperationID, op.Role, op.Security, want)
			}
		}
	}
	sort.Strings(served)
	var listed []string
	for id := range roles {
		listed = append(listed, id)
	}
	sort.Strings(listed)
	if !slices.Equal(served, listed) {
		t.Errorf("operations served %v\nrole table        %v", served, listed)
	}
	tried := map[string]bool{"healthz": true, "readyz": true, "events": true} // events: TestEventStreamAuth
	for _, tc := range authCases() {
		tried[tc.op] = true
	}
	for _, id := range served {
		if !tried[id] {
			t.Errorf("TestAuthorizationTable does not try %s", id)
		}
	}
}

// TestEventStreamAuth: the event stream takes its token from the header
// or, for EventSource, from ?access_token=; no other endpoint does.
func TestEventStreamAuth(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	open := func(query, header string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events"+query, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	for _, tc := range []struct {
		query, header string
		status        int
	}{
		{"", "", 401},
		{"", "Bearer " + batontest.ClerkToken, 200},
		{"?access_token=" + batontest.ClerkToken, "", 200},
		{"?access_token=" + batontest.ClerkToken + "&instanceId=x", "", 200},
		{"?access_token=nope", "", 401},
		{"?access_token=", "", 401},
	} {
		status, ct := open(tc.query, tc.header)
		if status != tc.status {
			t.Errorf("GET /api/events%s (Authorization %q) = %d, want %d", tc.query, tc.header, status, tc.status)
		}
		if status == 200 && ct != "text/event-stream" {
			t.Errorf("GET /api/events%s: content type %q", tc.query, ct)
		}
	}
	resp, data := srv.As("").Do(t, http.MethodGet, "/api/runtime/tasks?access_token="+batontest.AdminToken, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "Authorization: Bearer") {
		t.Errorf("access_token on another endpoint = %d %s, want 400 pointing to the header", resp.StatusCode, data)
	}
}

// TestNewRefusesNoVerifier: there is no open mode.
func TestNewRefusesNoVerifier(t *testing.T) {
	srv := batontest.MustStartServer(t)
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "Config.Auth is nil") {
			t.Errorf("rest.New without a verifier: recover() = %v, want a panic naming Config.Auth", r)
		}
	}()
	rest.New(rest.Config{Runner: srv.Runner})
}

// TestActorsInHistory: the user who started, completed, cancelled or
// recovered is recorded in the history.
func TestActorsInHistory(t *testing.T) {
	e := newAuthEnv(t)
	manager, ann := e.srv.As(batontest.ManagerToken), e.srv.As(batontest.AnnToken)

	var inst baton.Instance
	manager.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 20000}}, &inst, http.StatusCreated)
	var tl baton.TaskList
	ann.MustDo(t, http.MethodGet, "/api/runtime/tasks?instanceId="+inst.InstanceID, nil, &tl, http.StatusOK)
	if len(tl.Tasks) != 1 {
		t.Fatalf("ann's tasks: %+v", tl)
	}
	ann.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: tl.Tasks[0].ID,
		Variables: map[string]any{"approved": true}}, nil, http.StatusOK)
	done := e.admin.WaitStatus(t, inst.InstanceID, baton.StatusCompleted, 10*time.Second)
	actors := map[string]string{}
	for _, h := range done.ExecutionHistory {
		if h.Actor != "" {
			actors[h.NodeID+" "+h.Action] = h.Actor
		}
	}
	if actors["review completed"] != "ann" {
		t.Errorf("review completed by %q, want ann; actors %v", actors["review completed"], actors)
	}
	started := false
	for _, a := range actors {
		started = started || a == "manager"
	}
	if !started {
		t.Errorf("no history entry by manager (who started it): %v", actors)
	}

	w := e.waiting()
	manager.MustDo(t, http.MethodPost, "/api/runtime/instance/"+w.inst+"/cancel", nil, nil, http.StatusOK)
	if !hasActor(e.admin.Instance(t, w.inst), "manager") {
		t.Errorf("cancel by manager not in the history")
	}
	f := e.failed()
	manager.MustDo(t, http.MethodPost, "/api/runtime/recover/"+f.inst, baton.RecoverRequest{Action: baton.RecoverSkip}, nil, http.StatusOK)
	if !hasActor(e.admin.Instance(t, f.inst), "manager") {
		t.Errorf("recover by manager not in the history")
	}
	var incidents baton.IncidentList
	e.admin.MustDo(t, http.MethodGet, "/api/runtime/incidents?instanceId="+f.inst, nil, &incidents, http.StatusOK)
	if len(incidents.Incidents) == 0 || incidents.Incidents[0].ResolvedBy != "manager" {
		t.Errorf("incidents after recovery: %+v, want resolved by manager", incidents.Incidents)
	}
	var defs baton.DefinitionList
	e.admin.MustDo(t, http.MethodGet, "/api/definitions", nil, &defs, http.StatusOK)
	for _, d := range defs.Definitions {
		if d.DeployedBy != "admin" {
			t.Errorf("definition %s deployed by %q, want admin", d.ID, d.DeployedBy)
		}
	}
}

func hasActor(inst baton.Instance, user string) bool {
	for _, h := range inst.ExecutionHistory {
		if h.Actor == user {
			return true
		}
	}
	return false
}
