package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/form"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// User tasks: reading one, its form, claiming, unclaiming, delegating and
// completing it. Who may do what is decided here, per task:
//
//	claim, complete    auth.CanWorkOnTask: the assignee; when unassigned a
//	                   candidate user or a member of a candidate group; an admin
//	unclaim, delegate  the assignee, or an operator
type taskIDPath struct {
	ID string `path:"id" doc:"Task id."`
}

type taskOutput struct {
	Body baton.Task
}

// DelegateRequest assigns a task to another user.
type DelegateRequest struct {
	User string `json:"user" minLength:"1" maxLength:"200" doc:"The user to assign the task to."`
}

type delegateInput struct {
	ID   string `path:"id" doc:"Task id."`
	Body DelegateRequest
}

// Form sources: where a task's form comes from.
const (
	FormInline    = "inline"    // the node's own form (workflow JSON form, zeebe:userTaskForm)
	FormKey       = "formKey"   // a form file deployed on its own, named by the node's form key
	FormGenerated = "generated" // built from the node's inputs and outputs and the variables
)

// TaskForm is a task's form with the current values.
type TaskForm struct {
	TaskID  string `json:"taskId"`
	Source  string `json:"source" enum:"inline,formKey,generated" doc:"Where the form comes from: the task node's own form, a deployed form named by its form key, or generated from its inputs and outputs."`
	FormKey string `json:"formKey,omitempty" doc:"The node's form key, when the form was found by it."`
	// Form is the schema with each field's current value as its
	// defaultValue.
	Form formJSON `json:"form"`
	// Data holds the current values of the form's fields, nested by key
	// path: form-js's importSchema(form, data).
	Data map[string]any `json:"data" doc:"The current values of the form's fields, nested by key path, for form-js importSchema(form, data)."`
}

type taskFormOutput struct {
	Body TaskForm
}

// formJSON is a form-js schema, written as it is.
type formJSON json.RawMessage

// MarshalJSON writes the schema.
func (f formJSON) MarshalJSON() ([]byte, error) {
	if len(f) == 0 {
		return []byte("null"), nil
	}
	return f, nil
}

// UnmarshalJSON keeps the schema as it is.
func (f *formJSON) UnmarshalJSON(data []byte) error {
	*f = append((*f)[:0], data...)
	return nil
}

// Schema describes the schema in the OpenAPI document.
func (formJSON) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: "object", AdditionalProperties: true,
		Description: "A bpmn.io form-js schema ({type: \"default\", components: [...]}); see docs/forms.md."}
}

func (s *server) registerTasks(api huma.API) {
	tags := []string{"Tasks"}
	handle(s, api, huma.Operation{
		OperationID: "get-task", Method: http.MethodGet, Path: "/api/runtime/tasks/{id}", Tags: tags,
		Summary: "Get a user task", Errors: []int{404},
	}, s.getTask)
	handle(s, api, huma.Operation{
		OperationID: "get-task-form", Method: http.MethodGet, Path: "/api/runtime/tasks/{id}/form", Tags: tags,
		Summary: "Get a user task's form",
		Description: "Returns the task's form-js schema with the current values: the task node's own form; else the deployed form its form key names " +
			"(camunda-forms:deployment:ID or ID; deploy form-js files with POST /api/definitions); else a form generated from the node's inputs and outputs and " +
			"the variables' types. Submissions to complete-task are validated against this form. 404 when the form key names no deployed form.",
		Errors: []int{404},
	}, s.taskForm)
	handle(s, api, huma.Operation{
		OperationID: "claim-task", Method: http.MethodPost, Path: "/api/runtime/tasks/{id}/claim", Tags: tags,
		Summary: "Claim a user task",
		Description: "Assigns an open, unassigned task to the caller and returns it. Claiming a task one already has is a no-op; a task assigned to someone else is a 409 (they or an operator must unclaim it first). " +
			"Of concurrent claims exactly one wins; the others get 409. The claim is recorded in the instance history (action claimed) with the caller as actor.",
		Errors: []int{404, 409},
	}, s.claim)
	handle(s, api, huma.Operation{
		OperationID: "unclaim-task", Method: http.MethodPost, Path: "/api/runtime/tasks/{id}/unclaim", Tags: tags,
		Summary: "Unclaim a user task",
		Description: "Removes the assignee of an open task, so that its candidates see it again, and returns it. " +
			"409 when the task was closed or reassigned meanwhile. Recorded in the instance history (action unclaimed) with the caller as actor.",
		Errors: []int{404, 409},
	}, s.unclaim)
	handle(s, api, huma.Operation{
		OperationID: "delegate-task", Method: http.MethodPost, Path: "/api/runtime/tasks/{id}/delegate", Tags: tags,
		Summary: "Delegate a user task",
		Description: "Assigns an open task to another user and returns it. " +
			"409 when the task was closed or reassigned meanwhile. Recorded in the instance history (action delegated) with the caller as actor.",
		Errors: []int{400, 404, 409, 413, 422},
	}, s.delegate)
}

// loadTask reads a task with a clear not-found.
func (s *server) loadTask(ctx context.Context, id string) (store.TaskRow, error) {
	t, err := s.store().Task(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, fmt.Errorf("task %q does not exist: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("task %q: %w", id, err)
	}
	return t, nil
}

func (s *server) getTask(ctx context.Context, in *taskIDPath) (*taskOutput, error) {
	t, err := s.loadTask(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &taskOutput{Body: toTask(t)}, nil
}

// mayWork checks the task rule for claim and complete.
func mayWork(id auth.Identity, t store.TaskRow, verb string) error {
	if auth.CanWorkOnTask(id, t.Assignee, t.CandidateUsers, t.CandidateGroups) {
		return nil
	}
	return forbidden("%s", notYours(id, t, verb))
}

// notYours says why id may not work on t.
func notYours(id auth.Identity, t store.TaskRow, verb string) string {
	switch {
	case t.Assignee != "":
		return fmt.Sprintf("task %q is assigned to %s: only %s (or an admin) may %s it", t.ID, t.Assignee, t.Assignee, verb)
	case len(t.CandidateUsers) == 0 && len(t.CandidateGroups) == 0:
		return fmt.Sprintf("task %q has no assignee and no candidates: only an admin may %s it", t.ID, verb)
	}
	var offered []string
	if len(t.CandidateGroups) > 0 {
		offered = append(offered, "groups "+strings.Join(t.CandidateGroups, ", "))
	}
	if len(t.CandidateUsers) > 0 {
		offered = append(offered, "users "+strings.Join(t.CandidateUsers, ", "))
	}
	return fmt.Sprintf("%s may not %s task %q: it is offered to %s, and %s is not among them", id.User, verb, t.ID, strings.Join(offered, " and "), id.User)
}

// notOpen is the 409 for a task that is completed or cancelled.
func notOpen(t store.TaskRow, verb string) error {
	return fmt.Errorf("task %q is already %s; only open tasks can be %s: %w", t.ID, t.State, verb, store.ErrConflict)
}

func (s *server) claim(ctx context.Context, in *taskIDPath) (*taskOutput, error) {
	t, err := s.loadTask(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if t.State != store.TaskOpen {
		return nil, notOpen(t, "claimed")
	}
	id := identity(ctx)
	if t.Assignee != "" && t.Assignee == id.User {
		return &taskOutput{Body: toTask(t)}, nil
	}
	// A candidate (or an admin) may claim; the assignee's name does not
	// matter for that question.
	if !auth.CanWorkOnTask(id, "", t.CandidateUsers, t.CandidateGroups) {
		return nil, forbidden("%s", notYours(id, store.TaskRow{ID: t.ID, CandidateUsers: t.CandidateUsers, CandidateGroups: t.CandidateGroups}, "claim"))
	}
	if t.Assignee != "" {
		return nil, newProblem(http.StatusConflict, fmt.Sprintf("task %q is already claimed by %s: %s or an operator must unclaim it first", t.ID, t.Assignee, t.Assignee))
	}
	return s.assign(ctx, t, id.User, "claim")
}

func (s *server) unclaim(ctx context.Context, in *taskIDPath) (*taskOutput, error) {
	t, err := s.loadTask(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if t.State != store.TaskOpen {
		return nil, notOpen(t, "unclaimed")
	}
	id := identity(ctx)
	operator := id.Role.AtLeast(auth.Operator)
	switch {
	case t.Assignee == "":
		if operator || auth.CanWorkOnTask(id, "", t.CandidateUsers, t.CandidateGroups) {
			return &taskOutput{Body: toTask(t)}, nil // nothing to do
		}
		return nil, forbidden("%s", notYours(id, t, "unclaim"))
	case t.Assignee != id.User && !operator:
		return nil, forbidden("task %q is assigned to %s: only %s or an operator may unclaim it, and %s is %s", t.ID, t.Assignee, t.Assignee, id.User, article(id.Role))
	}
	return s.assign(ctx, t, "", "unclaim")
}

func (s *server) delegate(ctx context.Context, in *delegateInput) (*taskOutput, error) {
	user := in.Body.User
	if strings.TrimSpace(user) == "" || strings.TrimSpace(user) != user {
		return nil, invalidField("body.user", fmt.Sprintf("%q is not a user name: it is empty or has spaces around it", user))
	}
	t, err := s.loadTask(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if t.State != store.TaskOpen {
		return nil, notOpen(t, "delegated")
	}
	id := identity(ctx)
	if !id.Role.AtLeast(auth.Operator) && (t.Assignee == "" || t.Assignee != id.User) {
		who := "nobody: claim it first"
		if t.Assignee != "" {
			who = t.Assignee
		}
		return nil, forbidden("only the task's assignee or an operator may delegate task %q, and %s is %s; the task is assigned to %s", t.ID, id.User, article(id.Role), who)
	}
	if t.Assignee == user {
		return &taskOutput{Body: toTask(t)}, nil
	}
	return s.assign(ctx, t, user, "delegate")
}

// assign changes the task's assignee (verb: claim, unclaim or delegate)
// through the runner and returns the task as it is now. t is the task the
// caller's permission was decided on: the change is compare-and-set on
// its assignee, so whoever changed the task first wins and a later change
// based on the old assignee is a 409.
func (s *server) assign(ctx context.Context, t store.TaskRow, user, verb string) (*taskOutput, error) {
	past := strings.TrimSuffix(verb, "e") + "ed"
	by := actor(ctx)
	var err error
	switch verb {
	case "claim":
		err = s.r.Claim(ctx, t.ID, user)
	case "unclaim":
		err = s.r.Unclaim(ctx, t.ID, t.Assignee, by)
	default:
		err = s.r.Delegate(ctx, t.ID, t.Assignee, user, by)
	}
	if errors.Is(err, store.ErrConflict) {
		return s.assignLost(ctx, t, user, verb, past, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s task %q: %w", verb, t.ID, err)
	}
	s.log.InfoContext(ctx, "task "+past, "task", t.ID, "instance", t.InstanceID, "node", t.NodeID,
		"by", by, "from", t.Assignee, "to", user)
	now, err := s.loadTask(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return &taskOutput{Body: toTask(now)}, nil
}

// assignLost answers an assignment that lost its race: a 409 when the
// task was closed or someone else changed its assignee first, and the
// task as it is when a concurrent change already gave it the assignee
// asked for (as a sequential repeat would be a no-op).
func (s *server) assignLost(ctx context.Context, t store.TaskRow, user, verb, past string, err error) (*taskOutput, error) {
	now, lerr := s.loadTask(ctx, t.ID)
	switch {
	case lerr != nil:
		return nil, fmt.Errorf("%s task %q: %w", verb, t.ID, err)
	case now.State != store.TaskOpen:
		return nil, notOpen(now, past)
	case now.Assignee == user:
		return &taskOutput{Body: toTask(now)}, nil
	case verb == "claim" && now.Assignee != "":
		return nil, newProblem(http.StatusConflict, fmt.Sprintf("task %q is already claimed by %s: %s or an operator must unclaim it first", t.ID, now.Assignee, now.Assignee))
	}
	who := "nobody"
	if now.Assignee != "" {
		who = now.Assignee
	}
	return nil, newProblem(http.StatusConflict, fmt.Sprintf("task %q changed before it could be %s: it is now assigned to %s; read it again and retry", t.ID, past, who))
}

// taskForm is GET /api/runtime/tasks/{id}/form.
func (s *server) taskForm(ctx context.Context, in *taskIDPath) (*taskFormOutput, error) {
	t, err := s.loadTask(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	rf, err := s.resolveForm(ctx, t)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(rf.form.WithValues(rf.current))
	if err != nil {
		return nil, fmt.Errorf("encode the form of task %q: %w", t.ID, err)
	}
	return &taskFormOutput{Body: TaskForm{TaskID: t.ID, Source: rf.source, FormKey: rf.formKey,
		Form: formJSON(data), Data: rf.form.Data(rf.current)}}, nil
}

// resolvedForm is a task's form and the values it works with.
type resolvedForm struct {
	form    *form.Form
	source  string
	formKey string
	// current is what the form shows and validates against: the
	// instance's variables with the task's locals (input mappings,
	// multi-instance items) over them.
	current map[string]any
	// globals are the instance's variables, into which outputs merge.
	globals map[string]any
}

// resolveForm finds a task's form: the node's inline form, else the
// deployed form its form key names, else one generated from its inputs,
// outputs and the variables.
func (s *server) resolveForm(ctx context.Context, t store.TaskRow) (*resolvedForm, error) {
	st, row, err := s.r.InstanceState(ctx, t.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("instance %q of task %q: %w", t.InstanceID, t.ID, err)
	}
	rf := &resolvedForm{globals: st.Variables}
	if rf.globals == nil {
		rf.globals = map[string]any{}
	}
	rf.current = maps.Clone(rf.globals)
	if len(t.Payload) > 0 {
		var p struct {
			Locals map[string]any `json:"locals"`
		}
		if err := json.Unmarshal(t.Payload, &p); err == nil {
			maps.Copy(rf.current, p.Locals)
		}
	}
	d, _, err := s.r.Definition(ctx, row.DefinitionID, row.DefinitionVersion)
	if err != nil {
		return nil, fmt.Errorf("definition %s v%d of task %q: %w", row.DefinitionID, row.DefinitionVersion, t.ID, err)
	}
	n := d.Node(t.NodeID)
	if n == nil {
		return nil, fmt.Errorf("task %q: node %q is not in definition %s v%d", t.ID, t.NodeID, row.DefinitionID, row.DefinitionVersion)
	}
	key := t.FormKey
	if key == "" {
		key = n.FormKey
	}
	switch {
	case len(n.Form) > 0:
		f, err := form.Parse(n.Form)
		if err != nil {
			return nil, s.brokenForm(ctx, fmt.Sprintf("the form of node %q in definition %s v%d", n.ID, row.DefinitionID, row.DefinitionVersion), err)
		}
		rf.form, rf.source = f, FormInline
	case strings.TrimSpace(key) != "":
		f, err := s.deployedForm(ctx, fmt.Sprintf("task %q", t.ID), key)
		if err != nil {
			return nil, err
		}
		rf.form, rf.source, rf.formKey = f, FormKey, key
	case n.Type == model.AgentTask:
		rf.form, rf.source = approvalForm(n, rf.current), FormGenerated
	default:
		rf.form, rf.source = generateForm(n, rf.current), FormGenerated
	}
	return rf, nil
}

// formKeyID is the id of the deployed form a form key names:
// "camunda-forms:deployment:ID" (Camunda 8 linked forms), or the id
// itself (zeebe:formDefinition formId).
func formKeyID(key string) string {
	key = strings.TrimSpace(key)
	for _, prefix := range []string{"camunda-forms:deployment:", "camunda-forms:bpmn:"} {
		if rest, ok := strings.CutPrefix(key, prefix); ok {
			return rest
		}
	}
	return key
}

// deployedForm reads the latest version of the form a form key names.
// owner names what shows the form ("task \"ID\"").
func (s *server) deployedForm(ctx context.Context, owner, key string) (*form.Form, error) {
	id := formKeyID(key)
	row, err := s.store().Definition(ctx, id, 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%s shows form %q (form key %q), which is not deployed: deploy the form-js file with POST /api/definitions: %w", owner, id, key, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("form %q of %s: %w", id, owner, err)
	case row.Format != model.FormatForm:
		return nil, fmt.Errorf("%s shows form %q (form key %q), but %q is a %s, not a form: %w", owner, id, key, id, row.Format.Noun(), store.ErrNotFound)
	}
	f, err := form.Parse(row.Source)
	if err != nil {
		return nil, s.brokenForm(ctx, fmt.Sprintf("form %q v%d", row.ID, row.Version), err)
	}
	return f, nil
}

// brokenForm is the 500 for a deployed form that no longer parses (one
// deployed before forms were checked at deploy time).
func (s *server) brokenForm(ctx context.Context, what string, err error) error {
	s.log.ErrorContext(ctx, "a deployed form is invalid", "form", what, "err", err)
	return newProblem(http.StatusInternalServerError, fmt.Sprintf("%s is not a valid form-js schema (%v): deploy a corrected version", what, err))
}

// pathSource matches an output mapping whose source is a variable name or
// path ("approved", "=approved", "${approved}", "=applicant.email").
var pathSource = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)

// generateForm builds the form of a task node that has none: its input
// mappings' targets are shown (read-only), and each output mapping whose
// source is a plain variable name or path asks for that variable (the
// output mapping then copies it to its target). Outputs computed by an
// expression ask for nothing. With neither, every variable is shown
// read-only.
func generateForm(n *model.Node, vars map[string]any) *form.Form {
	in := form.GenerateInput{ID: n.ID, Variables: vars}
	for _, m := range n.Inputs {
		in.Inputs = append(in.Inputs, m.Target)
	}
	for _, m := range n.Outputs {
		src := strings.TrimSpace(m.Source)
		src = strings.TrimSpace(strings.TrimPrefix(src, "="))
		if inner, ok := strings.CutPrefix(src, "${"); ok {
			src = strings.TrimSpace(strings.TrimSuffix(inner, "}"))
		}
		if pathSource.MatchString(src) {
			in.Outputs = append(in.Outputs, src)
		}
	}
	return form.Generate(in)
}

// completeTask is POST /api/runtime/complete-task: the task rule, then the
// form, then the runner.
func (s *server) completeTask(ctx context.Context, in *completeInput) (*instanceOutput, error) {
	id := in.Body.TaskID
	t, err := s.loadTask(ctx, id)
	if err != nil {
		return nil, err
	}
	who := identity(ctx)
	if err := mayWork(who, t, "complete"); err != nil {
		return nil, err
	}
	if t.State != store.TaskOpen {
		return nil, notOpen(t, "completed")
	}
	rf, err := s.resolveForm(ctx, t)
	if err != nil {
		return nil, err
	}
	sub := in.Body.Variables
	if sub == nil {
		sub = map[string]any{}
	}
	if bad := rf.form.Validate(sub, rf.current); len(bad) > 0 {
		return nil, invalidSubmission(t, rf, bad)
	}
	// Outputs become variables; an object that exists already is merged
	// key by key, so submitting applicant.email keeps applicant.name.
	outputs := rf.form.Outputs(sub)
	merged := form.Merge(rf.globals, outputs)
	vars := make(map[string]any, len(outputs))
	for k := range outputs {
		vars[k] = merged[k]
	}
	st, err := s.r.CompleteTask(ctx, id, vars, who.User)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("task %q does not exist: %w", id, store.ErrNotFound)
	case errors.Is(err, store.ErrConflict), errors.Is(err, engine.ErrStale):
		if now, terr := s.store().Task(ctx, id); terr == nil && now.State != store.TaskOpen {
			return nil, notOpen(now, "completed")
		}
		return nil, fmt.Errorf("complete task %q: %w", id, err)
	case err != nil:
		return nil, fmt.Errorf("complete task %q: %w", id, err)
	}
	return s.instanceOut(ctx, st.InstanceID)
}

// invalidSubmission is the 422 that names every bad field.
func invalidSubmission(t store.TaskRow, rf *resolvedForm, bad []form.FieldError) *problem {
	return invalidFields(bad, fmt.Sprintf("the submission does not fit the form of task %q (%s form)", t.ID, rf.source), "nothing was changed")
}

// invalidFields is the 422 that names every bad field of a form: what
// did not fit, how many fields and which, and what that means.
func invalidFields(bad []form.FieldError, what, outcome string) *problem {
	p := newProblem(http.StatusUnprocessableEntity, "")
	for _, fe := range bad {
		p.Errors = append(p.Errors, baton.ProblemError{Location: "variables." + fe.Key, Message: fe.Message})
	}
	noun := "field is"
	if len(bad) > 1 {
		noun = "fields are"
	}
	p.Detail = fmt.Sprintf("%s: %d %s invalid: %s; %s", what, len(bad), noun, summarize(p.Errors), outcome)
	return p
}
