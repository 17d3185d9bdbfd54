package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/batonhq/baton/internal/form"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
	"github.com/batonhq/baton/internal/store"
)

// ParseSource compiles a workflow source (workflow JSON or BPMN XML),
// chosen by model.DetectFormat; of a BPMN file with several executable
// processes, the main one (bpmn.Main), or the first when none is. A decision table or a form is refused
// with a located problem: it deploys, but it is not a workflow.
func ParseSource(name string, src []byte) (*model.Definition, model.Format, error) {
	switch f := model.DetectFormat(src); f {
	case model.FormatBPMN:
		defs, err := bpmn.Parse(name, src)
		if err != nil {
			return nil, f, err
		}
		d, err := bpmn.Main(name, defs)
		if err != nil {
			// Several processes no other calls: each deploys all the
			// same (deploy_processes.go); the first answers.
			d = defs[0]
		}
		return d, f, nil
	case model.FormatJSON:
		d, err := model.ParseJSON(name, src)
		return d, f, err
	default:
		return nil, f, &model.ValidationError{Problems: []model.Problem{{File: name,
			Message: "this is a " + f.Noun() + ", not a workflow: deploy it, and name it from a workflow"}}}
	}
}

// Deploy checks and stores a source of any format (model.DetectFormat):
// a workflow, the decision tables of a DMN source, or a form. Deploying
// identical content again returns the existing version with created=false.
// Every problem is a located *model.ValidationError; an id that already
// names a form when the source is not one, or the other way round, is a
// store.ErrConflict.
func (r *Runner) Deploy(ctx context.Context, name string, src []byte, by string) (store.DefinitionRow, bool, error) {
	switch model.DetectFormat(src) {
	case model.FormatDMN:
		return r.deployDecisions(ctx, name, src, by)
	case model.FormatForm:
		return r.deployForm(ctx, name, src, by)
	}
	d, format, err := ParseSource(name, src)
	if err != nil {
		return store.DefinitionRow{}, false, err
	}
	if err := checkInlineForms(name, d); err != nil {
		return store.DefinitionRow{}, false, err
	}
	if err := r.runDeployChecks(ctx, name, d); err != nil {
		return store.DefinitionRow{}, false, err
	}
	if err := r.checkKind(ctx, d.ID, format); err != nil {
		return store.DefinitionRow{}, false, err
	}
	row, created, err := r.st.Deploy(ctx, r.definitionRow(d.ID, d.Name, format, src, by))
	if err != nil {
		return row, false, fmt.Errorf("deploy %s: %w", d.ID, err)
	}
	r.forgetLatest(d.ID)
	if created {
		if err := r.scheduleTimerStarts(ctx, row); err != nil {
			return row, created, err
		}
	}
	if format == model.FormatBPMN {
		others, err := r.deployOthers(ctx, name, src, by, d.ID)
		if err != nil {
			return row, created, err
		}
		created = created || others
	}
	return row, created, nil
}

// Deployed returns the version of src's definition whose content is
// exactly src, if any version is (found=false otherwise). For a DMN
// source it looks at its first decision.
func (r *Runner) Deployed(ctx context.Context, name string, src []byte) (row store.DefinitionRow, found bool, err error) {
	id, err := SourceID(name, src)
	if err != nil {
		return row, false, err
	}
	versions, err := r.st.DefinitionVersions(ctx, id)
	if err != nil {
		return row, false, fmt.Errorf("deploy %s: %w", name, err)
	}
	hash := sourceHash(src)
	for _, v := range versions {
		if v.Hash == hash {
			return v, true, nil
		}
	}
	return row, false, nil
}

// SourceID parses a source of any format and returns the id it deploys
// under (the first decision's for a DMN source).
func SourceID(name string, src []byte) (string, error) {
	switch model.DetectFormat(src) {
	case model.FormatDMN:
		decs, err := parseDecisions(name, src)
		if err != nil {
			return "", err
		}
		if len(decs) == 0 {
			return "", &model.ValidationError{Problems: []model.Problem{{File: name, Message: "the source holds no decision"}}}
		}
		return decs[0].ID(), nil
	case model.FormatForm:
		f, err := parseForm(name, src)
		if err != nil {
			return "", err
		}
		return f.ID, nil
	}
	d, _, err := ParseSource(name, src)
	if err != nil {
		return "", err
	}
	return d.ID, nil
}

func sourceHash(src []byte) string {
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:])
}

// definitionRow is the row that deploys src under id.
func (r *Runner) definitionRow(id, name string, f model.Format, src []byte, by string) store.DefinitionRow {
	return store.DefinitionRow{ID: id, Name: name, Format: f, Source: src, Hash: sourceHash(src),
		DeployedAt: r.clk.Now(), DeployedBy: by}
}

// parseForm parses a form deployed on its own: it needs an id, which user
// tasks name in their form keys.
func parseForm(name string, src []byte) (*form.Form, error) {
	f, err := form.Parse(src)
	if err != nil {
		return nil, formProblem(name, "", 0, 0, "", err)
	}
	if strings.TrimSpace(f.ID) == "" {
		return nil, &model.ValidationError{Problems: []model.Problem{{File: name, Field: "id",
			Message: "a form deployed on its own needs an id: user tasks name it in their form key (camunda-forms:deployment:ID)"}}}
	}
	return f, nil
}

// deployForm stores a form-js form as a definition row of format "form"
// whose id is the form's id; user tasks find it by form key.
func (r *Runner) deployForm(ctx context.Context, name string, src []byte, by string) (store.DefinitionRow, bool, error) {
	f, err := parseForm(name, src)
	if err != nil {
		return store.DefinitionRow{}, false, err
	}
	if err := r.checkKind(ctx, f.ID, model.FormatForm); err != nil {
		return store.DefinitionRow{}, false, err
	}
	row, created, err := r.st.Deploy(ctx, r.definitionRow(f.ID, f.ID, model.FormatForm, src, by))
	if err != nil {
		return row, false, fmt.Errorf("deploy form %s: %w", f.ID, err)
	}
	r.forgetLatest(f.ID)
	return row, created, nil
}

// checkInlineForms checks that a workflow's inline forms are valid form-js.
func checkInlineForms(name string, d *model.Definition) error {
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
	return nil
}

// checkKind refuses to deploy a form under the id of a workflow or
// decision, or the other way round: the new version would replace what
// the id names.
func (r *Runner) checkKind(ctx context.Context, id string, f model.Format) error {
	prev, err := r.st.Definition(ctx, id, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	if (prev.Format == model.FormatForm) != (f == model.FormatForm) {
		return fmt.Errorf("%q is already deployed as a %s; a %s cannot take its id: give it another id: %w",
			id, prev.Format.Noun(), f.Noun(), store.ErrConflict)
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
