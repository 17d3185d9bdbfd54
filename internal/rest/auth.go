package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton/internal/auth"
)

// public marks an operation anyone may call, without a token.
const public = auth.NoRole

// roles is the role each operation needs, by operation id. Every
// operation the API registers is listed (TestEveryOperationHasARole);
// one that is not needs the viewer role for GET and the admin role for
// anything else, so that a forgotten entry errs on the closed side.
//
// Who may claim, complete, unclaim or delegate a task is further decided
// by the task itself (taskRule), whatever the role.
var roles = map[string]auth.Role{
	// Health checks are for load balancers and orchestrators.
	"healthz": public,
	"readyz":  public,

	// Reading: every role.
	"get-instance":             auth.Viewer,
	"list-instances":           auth.Viewer,
	"instance-history":         auth.Viewer,
	"instance-record":          auth.Viewer,
	"list-incidents":           auth.Viewer,
	"incident-groups":          auth.Viewer,
	"instance-jobs":            auth.Viewer,
	"list-dead-letters":        auth.Viewer,
	"sla-report":               auth.Viewer,
	"list-notifications":       auth.Viewer,
	"list-definitions":         auth.Viewer,
	"get-definition":           auth.Viewer,
	"list-definition-versions": auth.Viewer,
	"get-definition-bpmn":      auth.Viewer,
	"get-start-form":           auth.Viewer,
	"events":                   auth.Viewer,
	"whoami":                   auth.Viewer,
	"instance-decisions":       auth.Viewer,
	"shadow-report":            auth.Viewer,
	"list-batches":             auth.Viewer,
	"get-batch":                auth.Viewer,

	// Human tasks: every role, subject to the task's assignee and
	// candidates (all=true on the list needs an operator).
	"list-tasks":     auth.Viewer,
	"get-task":       auth.Viewer,
	"get-task-form":  auth.Viewer,
	"complete-task":  auth.Viewer,
	"claim-task":     auth.Viewer,
	"unclaim-task":   auth.Viewer,
	"delegate-task":  auth.Viewer,
	"start-instance": auth.Operator,

	// Operating instances and the machinery around them.
	"cancel-instance":     auth.Operator,
	"recover-instance":    auth.Operator,
	"modify-instance":     auth.Operator,
	"migrate-instances":   auth.Operator,
	"create-batch":        auth.Operator,
	"correlate-message":   auth.Operator,
	"broadcast-signal":    auth.Operator,
	"drain-dead-letters":  auth.Operator,
	"resolve-incidents":   auth.Operator,
	"set-variables":       auth.Operator,
	"apply-advice":        auth.Operator,
	"resend-notification": auth.Operator,
	"evaluate-decision":   auth.Operator,
	// External task workers use operator tokens.
	"fetch-and-lock":            auth.Operator,
	"complete-external-task":    auth.Operator,
	"complete-external-tasks":   auth.Operator,
	"fail-external-task":        auth.Operator,
	"external-task-bpmn-error":  auth.Operator,
	"extend-external-task-lock": auth.Operator,

	// Changing what runs.
	"deploy-definition": auth.Admin,
}

// roleFor returns the role an operation needs.
func roleFor(opID, method string) auth.Role {
	if r, ok := roles[opID]; ok {
		return r
	}
	if method == http.MethodGet || method == http.MethodHead {
		return auth.Viewer
	}
	return auth.Admin
}

// Roles returns the role each operation needs, by operation id ("none"
// for the public ones), for documentation and tests.
func Roles() map[string]string {
	out := make(map[string]string, len(roles))
	for id, r := range roles {
		out[id] = r.String()
	}
	return out
}

// isPublic reports whether a request is served without a token: health
// checks and the API's own description (the OpenAPI document, its schemas
// and the docs page), which hold no data.
func isPublic(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, hooksPrefix) {
		return true // a webhook verifies its own signature or token (webhooks.go)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch p := r.URL.Path; {
	case p == "/healthz", p == "/readyz", p == "/api/docs":
		return true
	case strings.HasPrefix(p, "/api/openapi") && !strings.Contains(p[len("/api/openapi"):], "/"):
		return true // openapi.json, .yaml, -3.0.json, -3.0.yaml
	case strings.HasPrefix(p, "/api/schemas/"):
		return true
	}
	return false
}

// eventsPath is the one endpoint that takes its token from the query
// (?access_token=): a browser's EventSource cannot send headers.
const eventsPath = "/api/events"

// authenticate puts the caller's identity in the request context (see
// auth.Middleware) for every request but the public ones: without a valid
// token the answer is a 401 problem, and the handlers never run.
func (s *server) authenticate(next http.Handler) http.Handler {
	checked := auth.Middleware(s.cfg.Auth, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPublic(r) {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		if q.Has("access_token") {
			if r.URL.Path != eventsPath {
				writeProblem(w, r, newProblem(http.StatusBadRequest,
					"access_token is accepted only by "+eventsPath+" (for EventSource); send the token as Authorization: Bearer <token>"))
				return
			}
			// Move the token from the query to the header, and out of the
			// URL the handler sees.
			tok := q.Get("access_token")
			q.Del("access_token")
			r = r.Clone(r.Context())
			r.URL.RawQuery = q.Encode()
			r.RequestURI = r.URL.RequestURI()
			if r.Header.Get("Authorization") == "" && tok != "" {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		checked.ServeHTTP(w, r)
	})
}

// requireRole is the huma middleware of an operation that needs role
// need: it runs before the request is read, so that a caller without the
// role learns nothing from validation errors.
func (s *server) requireRole(api huma.API, need auth.Role) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		err := auth.Authorize(ctx.Context(), need)
		switch {
		case err == nil:
			next(ctx)
		case errors.Is(err, auth.ErrForbidden):
			_ = huma.WriteErr(api, ctx, http.StatusForbidden, forbiddenDetail(err))
		default:
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="baton"`)
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "not authenticated: send Authorization: Bearer <token>")
		}
	}
}

func forbiddenDetail(err error) string {
	return strings.TrimPrefix(err.Error(), auth.ErrForbidden.Error()+": ")
}

// identity returns the caller. Every handler behind authenticate has one;
// a handler reached without (a public one) gets the zero identity.
func identity(ctx context.Context) auth.Identity {
	id, _ := auth.IdentityFrom(ctx)
	return id
}

// actor is the user recorded in the history for what the caller does.
func actor(ctx context.Context) string { return identity(ctx).User }

// article names a role with its article: "a viewer", "an operator".
func article(r auth.Role) string {
	switch r {
	case auth.NoRole:
		return "without a role"
	case auth.Admin, auth.Operator:
		return "an " + r.String()
	}
	return "a " + r.String()
}

// forbidden is a 403 problem.
func forbidden(format string, args ...any) *problem {
	return newProblem(http.StatusForbidden, fmt.Sprintf(format, args...))
}

// securityScheme documents bearer tokens in the OpenAPI document.
func securityScheme(api huma.API) {
	oa := api.OpenAPI()
	if oa.Components == nil {
		oa.Components = &huma.Components{}
	}
	if oa.Components.SecuritySchemes == nil {
		oa.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	oa.Components.SecuritySchemes["bearer"] = &huma.SecurityScheme{
		Type: "http", Scheme: "bearer",
		Description: "A Baton token (see docs/auth.md). Each operation says the role it needs. " +
			"GET /api/events also accepts the token as ?access_token= for EventSource.",
	}
}

// describeRole adds the role an operation needs to its description and
// its security requirement.
func describeRole(op *huma.Operation, need auth.Role) {
	if need == public {
		op.Security = []map[string][]string{}
		return
	}
	op.Security = []map[string][]string{{"bearer": {}}}
	note := fmt.Sprintf("Needs the %s role.", need)
	switch op.OperationID {
	case "complete-task", "claim-task":
		note += " Only the task's assignee, or when it is unassigned one of its candidate users or a member of its candidate groups, may do this (an admin always)."
	case "unclaim-task", "delegate-task":
		note += " Only the task's assignee or an operator may do this."
	case "list-tasks":
		note += " all=true needs the operator role."
	}
	if op.Description == "" {
		op.Description = note
	} else {
		op.Description = strings.TrimSpace(op.Description) + " " + note
	}
	if op.Extensions == nil {
		op.Extensions = map[string]any{}
	}
	op.Extensions["x-baton-role"] = need.String()
}

// whoami is GET /api/me.
type whoamiOutput struct {
	Body struct {
		User   string   `json:"user"`
		Groups []string `json:"groups"`
		Role   string   `json:"role" enum:"viewer,operator,admin"`
	}
}

func (s *server) registerAuth(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "whoami", Method: http.MethodGet, Path: "/api/me", Tags: []string{"Auth"},
		Summary:     "Who am I",
		Description: "The user, groups and role the presented token maps to.",
	}, func(ctx context.Context, _ *struct{}) (*whoamiOutput, error) {
		id := identity(ctx)
		out := &whoamiOutput{}
		out.Body.User, out.Body.Role = id.User, id.Role.String()
		out.Body.Groups = append([]string{}, id.Groups...)
		sort.Strings(out.Body.Groups)
		return out, nil
	})
}
