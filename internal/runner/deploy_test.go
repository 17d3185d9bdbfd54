package runner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testkit"
)

// TestDeployEveryFormat: Deploy takes a workflow, a JSON decision table and
// a form, each stored under its format; a form cannot take a workflow's id
// nor a workflow a form's, and a form without an id is a located problem.
func TestDeployEveryFormat(t *testing.T) {
	ctx := context.Background()
	r := testkit.Runner(t, runner.Config{}, nil)
	for src, want := range map[string]model.Format{
		service: model.FormatJSON,
		`{"id":"risk","inputs":[{"expression":"amount","type":"number"}],"outputs":[{"name":"risk","type":"string"}],
		  "rules":[{"inputs":["-"],"outputs":["\"low\""]}]}`: model.FormatDMN,
		`{"type":"default","id":"review","components":[{"type":"checkbox","key":"ok","label":"OK?"}]}`: model.FormatForm,
	} {
		row, created, err := r.Deploy(ctx, "src", []byte(src), "test")
		if err != nil || !created || row.Format != want {
			t.Errorf("deploy %s: %+v, created %v, %v", want, row, created, err)
		}
	}
	if _, _, err := r.Deploy(ctx, "svc.form", []byte(`{"type":"default","id":"svc","components":[]}`), "test"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a form under a workflow's id: %v, want a conflict", err)
	}
	if _, _, err := r.Deploy(ctx, "review.json", []byte(`{"id":"review","nodes":[{"id":"s","type":"startEvent"}],"edges":[]}`), "test"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a workflow under a form's id: %v, want a conflict", err)
	}
	var ve *model.ValidationError
	if _, _, err := r.Deploy(ctx, "anon.form", []byte(`{"type":"default","components":[]}`), "test"); !errors.As(err, &ve) || ve.Problems[0].File != "anon.form" {
		t.Errorf("a form without an id: %v, want a located problem", err)
	}
}
