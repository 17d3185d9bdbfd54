package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
	"github.com/batonhq/baton/internal/store"
)

// ParseSource compiles a definition source (workflow JSON or BPMN XML).
func ParseSource(name string, src []byte) (*model.Definition, string, error) {
	if bpmn.IsXML(src) {
		d, err := bpmn.ParseOne(name, src, "")
		return d, "bpmn", err
	}
	d, err := model.ParseJSON(name, src)
	return d, "json", err
}

// Deploy parses and stores a definition. Deploying identical content again
// returns the existing version with created=false.
func (r *Runner) Deploy(ctx context.Context, name string, src []byte, by string) (store.DefinitionRow, bool, error) {
	if isDecisionSource(src) {
		return r.deployDecisions(ctx, name, src, by)
	}
	d, format, err := ParseSource(name, src)
	if err != nil {
		return store.DefinitionRow{}, false, err
	}
	sum := sha256.Sum256(src)
	row, created, err := r.st.Deploy(ctx, store.DefinitionRow{
		ID: d.ID, Name: d.Name, Format: format, Source: src, Hash: hex.EncodeToString(sum[:]),
		DeployedAt: r.clk.Now(), DeployedBy: by,
	})
	if err != nil {
		return row, false, fmt.Errorf("deploy %s: %w", d.ID, err)
	}
	r.forgetLatest(d.ID)
	if created {
		if err := r.scheduleTimerStarts(ctx, row); err != nil {
			return row, created, err
		}
	}
	return row, created, nil
}
