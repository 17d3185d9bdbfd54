package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
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
	row, created, err := s.r.Deploy(ctx, name, src, actor(ctx))
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
	rows, err := s.store().Definitions(ctx)
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
	row, err := s.store().Definition(ctx, id, version)
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
	rows, err := s.store().DefinitionVersions(ctx, in.ID)
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
	if !row.Format.Workflow() {
		return nil, newProblem(http.StatusBadRequest, fmt.Sprintf("%q is a %s, not a workflow: it has no BPMN", row.ID, row.Format.Noun()))
	}
	if row.Format == model.FormatBPMN {
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
