package rest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/form"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

type deployInput struct {
	ContentType string `header:"Content-Type" doc:"application/json (workflow JSON), application/xml or text/xml (BPMN 2.0), or multipart/form-data with a file field."`
	Name        string `query:"name" doc:"Label for error locations, such as a file name (default: the uploaded file's name, or \"body\")."`
	RawBody     []byte `contentType:"application/xml"`
}

type deployOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     baton.DeployResult
}

type definitionInput struct {
	ID      string `path:"id" doc:"Definition id."`
	Version int    `query:"version" minimum:"1" doc:"Version (default: the latest)."`
}

type definitionOutput struct {
	Body baton.Definition
}

type definitionsOutput struct {
	Body baton.DefinitionList
}

type idOnly struct {
	ID string `path:"id" doc:"Definition id."`
}

type bpmnOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// Media types a definition may be deployed as. Content decides between
// JSON and XML; these only keep obviously wrong uploads out.
var deployTypes = map[string]bool{
	"application/json": true, "application/xml": true, "text/xml": true, "application/bpmn+xml": true,
	"application/octet-stream": true, "text/plain": true,
}

func (s *server) registerDefinitions(api huma.API) {
	tags := []string{"Definitions"}
	binary := &huma.Schema{Type: "string", Description: "Workflow JSON or BPMN 2.0 XML"}
	handle(s, api, huma.Operation{
		OperationID: "deploy-definition", Method: http.MethodPost, Path: "/api/definitions", Tags: tags,
		Summary: "Deploy a definition",
		Description: "Deploys workflow JSON or BPMN 2.0 XML, a decision table (DMN XML or JSON), or a form-js form (a JSON object with type \"default\", " +
			"an id and components; user tasks show it through their form key), sent as the raw body or as the file field of a multipart form. " +
			"Returns 201 with the new version, or 200 when identical content is already the latest version. " +
			"An invalid definition is a 422 whose errors list every problem with its location (\"file nodeId field (JSON path, line N, column M)\").",
		MaxBodyBytes:  s.cfg.MaxDefinitionBytes,
		DefaultStatus: http.StatusCreated,
		// The body is read raw and parsed by the model; huma must not
		// unmarshal it by content type.
		SkipValidateBody: true,
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Type: "object", Description: "Workflow JSON"}},
			"text/xml":         {Schema: binary},
			"multipart/form-data": {Schema: &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
				"file": {Type: "string", Format: "binary", Description: "The definition file"},
			}, Required: []string{"file"}}},
		}},
		Responses: map[string]*huma.Response{
			"200": {Description: "Identical content was already deployed; nothing changed."},
		},
		Errors: []int{400, 413, 415, 422},
	}, s.deploy)
	handle(s, api, huma.Operation{
		OperationID: "list-definitions", Method: http.MethodGet, Path: "/api/definitions", Tags: tags,
		Summary: "List definitions (latest version of each)",
	}, s.listDefinitions)
	handle(s, api, huma.Operation{
		OperationID: "get-definition", Method: http.MethodGet, Path: "/api/definitions/{id}", Tags: tags,
		Summary: "Get a definition version", Errors: []int{404},
	}, s.getDefinition)
	handle(s, api, huma.Operation{
		OperationID: "list-definition-versions", Method: http.MethodGet, Path: "/api/definitions/{id}/versions", Tags: tags,
		Summary: "List every version of a definition", Errors: []int{404},
	}, s.definitionVersions)
	handle(s, api, huma.Operation{
		OperationID: "get-definition-bpmn", Method: http.MethodGet, Path: "/api/definitions/{id}/bpmn", Tags: tags,
		Summary:     "Get a definition as BPMN 2.0 XML",
		Description: "The deployed source for BPMN definitions; workflow JSON is exported to BPMN XML with a diagram.",
		Responses: map[string]*huma.Response{
			"200": {Description: "BPMN 2.0 XML", Content: map[string]*huma.MediaType{"application/xml": {Schema: &huma.Schema{Type: "string"}}}},
		},
		Errors: []int{404},
	}, s.definitionBPMN)
}

func (s *server) deploy(ctx context.Context, in *deployInput) (*deployOutput, error) {
	name, src, err := s.deploySource(in)
	if err != nil {
		return nil, err
	}
	var (
		row     store.DefinitionRow
		created bool
	)
	if isFormSource(src) {
		row, created, err = s.deployForm(ctx, name, src)
	} else {
		if err := s.checkWorkflow(ctx, name, src); err != nil {
			return nil, err
		}
		row, created, err = s.r.Deploy(ctx, name, src, actor(ctx))
	}
	if err != nil {
		return nil, err
	}
	out := &deployOutput{Status: http.StatusOK, Body: baton.DeployResult{ID: row.ID, Version: row.Version, Created: created}}
	if created {
		out.Status = http.StatusCreated
	}
	out.Location = fmt.Sprintf("/api/definitions/%s?version=%d", url.PathEscape(row.ID), row.Version)
	return out, nil
}

// deploySource extracts the definition from the request body.
func (s *server) deploySource(in *deployInput) (name string, src []byte, err error) {
	name = in.Name
	mt, params := "", map[string]string(nil)
	if in.ContentType != "" {
		mt, params, err = mime.ParseMediaType(in.ContentType)
		if err != nil {
			return "", nil, newProblem(http.StatusBadRequest, fmt.Sprintf("malformed Content-Type %q: %v", in.ContentType, err))
		}
	}
	switch {
	case mt == "" || deployTypes[mt]:
		src = in.RawBody
	case mt == "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(in.RawBody), params["boundary"])
		for {
			part, perr := mr.NextPart()
			if errors.Is(perr, io.EOF) {
				break
			}
			if perr != nil {
				return "", nil, newProblem(http.StatusBadRequest, "malformed multipart body: "+perr.Error())
			}
			if part.FormName() != "file" {
				continue
			}
			src, err = io.ReadAll(part)
			if err != nil {
				return "", nil, newProblem(http.StatusBadRequest, "malformed multipart body: "+err.Error())
			}
			if name == "" {
				name = part.FileName()
			}
			break
		}
		if src == nil {
			return "", nil, newProblem(http.StatusBadRequest, `multipart body has no "file" field with the definition`)
		}
	default:
		return "", nil, newProblem(http.StatusUnsupportedMediaType,
			fmt.Sprintf("cannot deploy a body of type %s: send workflow JSON (application/json), BPMN XML (application/xml, text/xml) or a multipart/form-data upload with a file field", mt))
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return "", nil, newProblem(http.StatusBadRequest, "the definition is empty: send workflow JSON or BPMN 2.0 XML")
	}
	if name == "" {
		name = "body"
	}
	return name, src, nil
}

func (s *server) listDefinitions(ctx context.Context, _ *struct{}) (*definitionsOutput, error) {
	rows, err := s.r.Store().Definitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list definitions: %w", err)
	}
	out := &definitionsOutput{Body: baton.DefinitionList{Definitions: make([]baton.Definition, 0, len(rows))}}
	for _, d := range rows {
		out.Body.Definitions = append(out.Body.Definitions, toDefinition(d))
	}
	return out, nil
}

// definitionRow reads one version (0: latest) with a clear not-found.
func (s *server) definitionRow(ctx context.Context, id string, version int) (store.DefinitionRow, error) {
	row, err := s.r.Store().Definition(ctx, id, version)
	if errors.Is(err, store.ErrNotFound) {
		if version > 0 {
			return row, fmt.Errorf("definition %q has no version %d: %w", id, version, store.ErrNotFound)
		}
		return row, fmt.Errorf("definition %q is not deployed: %w", id, store.ErrNotFound)
	}
	return row, err
}

func (s *server) getDefinition(ctx context.Context, in *definitionInput) (*definitionOutput, error) {
	row, err := s.definitionRow(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	return &definitionOutput{Body: toDefinition(row)}, nil
}

func (s *server) definitionVersions(ctx context.Context, in *idOnly) (*definitionsOutput, error) {
	rows, err := s.r.Store().DefinitionVersions(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("versions of definition %q: %w", in.ID, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("definition %q is not deployed: %w", in.ID, store.ErrNotFound)
	}
	out := &definitionsOutput{Body: baton.DefinitionList{Definitions: make([]baton.Definition, 0, len(rows))}}
	for _, d := range rows {
		out.Body.Definitions = append(out.Body.Definitions, toDefinition(d))
	}
	return out, nil
}

func (s *server) definitionBPMN(ctx context.Context, in *definitionInput) (*bpmnOutput, error) {
	row, err := s.definitionRow(ctx, in.ID, in.Version)
	if err != nil {
		return nil, err
	}
	out := &bpmnOutput{ContentType: "application/xml"}
	if row.Format != "bpmn" && row.Format != "json" {
		return nil, newProblem(http.StatusBadRequest, fmt.Sprintf("%q is a %s, not a workflow: it has no BPMN", row.ID, formatNoun(row.Format)))
	}
	if row.Format == "bpmn" {
		out.Body = row.Source
		return out, nil
	}
	d, _, err := s.r.Definition(ctx, row.ID, row.Version)
	if err != nil {
		return nil, fmt.Errorf("definition %q version %d: %w", row.ID, row.Version, err)
	}
	out.Body, err = bpmn.Export(d)
	if err != nil {
		return nil, fmt.Errorf("export definition %q version %d as BPMN: %w", row.ID, row.Version, err)
	}
	return out, nil
}

// FormatForm marks definition rows that hold form-js forms.
const FormatForm = "form"

// formatNoun names what a definition row of a format holds.
func formatNoun(format string) string {
	switch format {
	case FormatForm:
		return "form"
	case runner.FormatDMN:
		return "decision table"
	}
	return "workflow"
}

// isFormSource reports whether src is a form-js form: a JSON object with
// "type": "default" and a "components" list at its top level (a workflow
// has nodes; a decision table has rules).
func isFormSource(src []byte) bool {
	trim := bytes.TrimLeft(src, " \t\r\n\xef\xbb\xbf")
	if len(trim) == 0 || trim[0] != '{' {
		return false
	}
	var top struct {
		Type       string          `json:"type"`
		Components json.RawMessage `json:"components"`
	}
	if json.Unmarshal(trim, &top) != nil {
		return false
	}
	c := bytes.TrimSpace(top.Components)
	return top.Type == "default" && len(c) > 0 && c[0] == '['
}

// deployForm stores a form-js form as a definition row of format "form"
// whose id is the form's id; user tasks find it by form key. The form is
// checked first: every problem is a located 422 error.
func (s *server) deployForm(ctx context.Context, name string, src []byte) (store.DefinitionRow, bool, error) {
	f, err := form.Parse(src)
	if err != nil {
		return store.DefinitionRow{}, false, formProblem(name, "", 0, 0, "", err)
	}
	if strings.TrimSpace(f.ID) == "" {
		return store.DefinitionRow{}, false, &model.ValidationError{Problems: []model.Problem{{File: name, Field: "id",
			Message: "a form deployed on its own needs an id: user tasks name it in their form key (camunda-forms:deployment:ID)"}}}
	}
	if err := s.checkKind(ctx, f.ID, FormatForm); err != nil {
		return store.DefinitionRow{}, false, err
	}
	sum := sha256.Sum256(src)
	row, created, err := s.r.Store().Deploy(ctx, store.DefinitionRow{
		ID: f.ID, Name: f.ID, Format: FormatForm, Source: src, Hash: hex.EncodeToString(sum[:]),
		DeployedAt: s.r.Clock().Now(), DeployedBy: actor(ctx),
	})
	if err != nil {
		return row, false, fmt.Errorf("deploy form %s: %w", f.ID, err)
	}
	return row, created, nil
}

// checkWorkflow checks what the runner does not before a workflow is
// deployed: that its inline forms are valid form-js, and that its id is
// not that of a form. Sources the model cannot parse are left to the
// runner, which reports them.
func (s *server) checkWorkflow(ctx context.Context, name string, src []byte) error {
	d, format, err := runner.ParseSource(name, src)
	if err != nil {
		return nil
	}
	var problems []model.Problem
	for _, n := range d.Nodes {
		if len(n.Form) == 0 {
			continue
		}
		if _, err := form.Parse(n.Form); err != nil {
			var ve *model.ValidationError
			if errors.As(formProblem(name, n.ID, n.Line, n.Column, "form", err), &ve) {
				problems = append(problems, ve.Problems...)
			}
		}
	}
	if len(problems) > 0 {
		return &model.ValidationError{Problems: problems}
	}
	return s.checkKind(ctx, d.ID, format)
}

// checkKind refuses to deploy a form under the id of a workflow or
// decision, or the other way round: the new version would replace what
// the id names.
func (s *server) checkKind(ctx context.Context, id, format string) error {
	prev, err := s.r.Store().Definition(ctx, id, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	isForm := format == FormatForm
	if (prev.Format == FormatForm) != isForm {
		return newProblem(http.StatusConflict, fmt.Sprintf("%q is already deployed as a %s; a %s cannot take its id: give it another id",
			id, formatNoun(prev.Format), formatNoun(format)))
	}
	return nil
}

// formProblem turns a form's parse error into a located validation error.
func formProblem(file, nodeID string, line, col int, field string, err error) error {
	var se *form.SchemaError
	if !errors.As(err, &se) {
		return &model.ValidationError{Problems: []model.Problem{{File: file, Line: line, Column: col, NodeID: nodeID, Field: field, Message: err.Error()}}}
	}
	ve := &model.ValidationError{}
	for _, p := range se.Problems {
		f := p.Location()
		if field != "" {
			if f == "" {
				f = field
			} else {
				f = field + "." + f
			}
		}
		msg := p.Message
		if p.Key != "" {
			msg = fmt.Sprintf("(key %q) %s", p.Key, msg)
		}
		ve.Problems = append(ve.Problems, model.Problem{File: file, Line: line, Column: col, NodeID: nodeID, Field: f, Message: msg})
	}
	return ve
}
