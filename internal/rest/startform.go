package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/form"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// Start forms: a definition's (none) start event may carry a form-js
// form, inline (workflow JSON form, zeebe:userTaskForm) or by form key
// (a deployed form). Starts are then checked against it as task
// completions are against the task's form.

// StartForm is a definition version's start form.
type StartForm struct {
	DefinitionID string         `json:"definitionId"`
	Version      int            `json:"version"`
	NodeID       string         `json:"nodeId" doc:"The start event that carries the form."`
	Source       string         `json:"source" enum:"inline,formKey" doc:"The start event's own form, or a deployed form named by its form key."`
	FormKey      string         `json:"formKey,omitempty"`
	Form         formJSON       `json:"form"`
	Data         map[string]any `json:"data" doc:"Empty: a start has no variables yet. For form-js importSchema(form, data)."`
}

type startFormOutput struct {
	Body StartForm
}

func (s *server) registerStartForm(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "get-start-form", Method: http.MethodGet, Path: "/api/definitions/{id}/start-form", Tags: []string{"Definitions"},
		Summary: "Get a definition's start form",
		Description: "Returns the form-js form of the definition's start event (the latest version unless version is given): its own form, " +
			"or the deployed form its form key names. A start of that version (POST /api/runtime/start) is validated against it: any bad field is a 422 " +
			"naming each one (location variables.KEY), and the form's values become the instance's variables. 404 when the version has no start form.",
		Errors: []int{404},
	}, s.startForm)
}

// startFormOf finds the start form of a definition version: nil when it
// has none.
type startFormFound struct {
	def     *model.Definition
	node    *model.Node
	form    *form.Form
	source  string
	formKey string
}

func (s *server) startFormOf(ctx context.Context, id string, version int) (*startFormFound, error) {
	d, row, err := s.r.Definition(ctx, id, version)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, nil
	}
	if version <= 0 {
		version = row.Version
	}
	for _, n := range d.StartNodes(nil) {
		if n.Type != model.StartEvent {
			continue
		}
		owner := fmt.Sprintf("start event %q of %s v%d", n.ID, id, version)
		switch {
		case len(n.Form) > 0:
			f, err := form.Parse(n.Form)
			if err != nil {
				return nil, s.brokenForm(ctx, "the form of "+owner, err)
			}
			return &startFormFound{def: d, node: n, form: f, source: FormInline}, nil
		case strings.TrimSpace(n.FormKey) != "":
			f, err := s.deployedForm(ctx, owner, n.FormKey)
			if err != nil {
				return nil, err
			}
			return &startFormFound{def: d, node: n, form: f, source: FormKey, formKey: n.FormKey}, nil
		}
	}
	return &startFormFound{def: d}, nil
}

func (s *server) startForm(ctx context.Context, in *definitionInput) (*startFormOutput, error) {
	row, err := s.definitionRow(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	if !row.Format.Workflow() {
		return nil, fmt.Errorf("%q is a %s, not a workflow: it has no start form: %w", row.ID, row.Format.Noun(), store.ErrNotFound)
	}
	sf, err := s.startFormOf(ctx, row.ID, row.Version)
	if err != nil {
		return nil, err
	}
	if sf == nil || sf.form == nil {
		return nil, fmt.Errorf("%s v%d has no start form: its start event carries no form or form key: %w", row.ID, row.Version, store.ErrNotFound)
	}
	return &startFormOutput{Body: StartForm{DefinitionID: row.ID, Version: row.Version, NodeID: sf.node.ID,
		Source: sf.source, FormKey: sf.formKey, Form: mustFormJSON(sf.form), Data: map[string]any{}}}, nil
}

// checkStartForm validates a start against the start form of the
// version it starts, if that has one, and returns the variables to start
// with. The form's fields are checked as a task's are (required, types,
// limits, options); variables that are not fields of the form pass
// through unchanged, since a client of the API may start with more than
// a person fills in. Without a start form the variables are returned as
// they are.
func (s *server) checkStartForm(ctx context.Context, req baton.StartRequest) (map[string]any, error) {
	sf, err := s.startFormOf(ctx, req.DefinitionID, req.Version)
	if err != nil || sf == nil || sf.form == nil {
		// Not deployed, not a workflow: the start itself says so.
		return req.Variables, nil
	}
	sub := req.Variables
	if sub == nil {
		sub = map[string]any{}
	}
	fields := sf.form.Data(sub)
	if bad := sf.form.Validate(fields, map[string]any{}); len(bad) > 0 {
		return nil, invalidFields(bad, fmt.Sprintf("the variables do not fit the start form of %s (start event %q, %s form)",
			sf.def.ID, sf.node.ID, sf.source), "no instance was started")
	}
	return form.Merge(sub, sf.form.Outputs(fields)), nil
}

// mustFormJSON writes a parsed form back as JSON.
func mustFormJSON(f *form.Form) formJSON {
	b, err := json.Marshal(f)
	if err != nil {
		return nil
	}
	return formJSON(b)
}
