package runner

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
	"github.com/batonhq/baton/internal/store"
)

// A BPMN file with several executable processes deploys each of them as
// its own definition, under the process id, with the whole file as
// source: call activities may call any of them, and bindingType
// "deployment" finds the version deployed together with its caller by
// the source they share. Deploy answers with the file's main process
// (bpmn.Main: the one no other calls).

// deployOthers deploys the executable processes of BPMN source src
// other than main (deployed already).
func (r *Runner) deployOthers(ctx context.Context, name string, src []byte, by, main string) (created bool, err error) {
	defs, err := bpmn.Parse(name, src)
	if err != nil {
		return false, err
	}
	for _, d := range defs {
		if d.ID == main {
			continue
		}
		if err := checkInlineForms(name, d); err != nil {
			return created, err
		}
		if err := r.runDeployChecks(ctx, name, d); err != nil {
			return created, err
		}
		if err := r.checkKind(ctx, d.ID, model.FormatBPMN); err != nil {
			return created, err
		}
		row, c, err := r.st.Deploy(ctx, r.definitionRow(d.ID, d.Name, model.FormatBPMN, src, by))
		if err != nil {
			return created, fmt.Errorf("deploy %s: %w", d.ID, err)
		}
		r.forgetLatest(d.ID)
		if c {
			created = true
			if err := r.scheduleTimerStarts(ctx, row); err != nil {
				return created, err
			}
		}
	}
	return created, nil
}

// parseDeployed compiles a deployed workflow version. For BPMN it is the
// process the row is named after: a file with several executable
// processes is deployed once per process.
func parseDeployed(row store.DefinitionRow) (*model.Definition, error) {
	if model.DetectFormat(row.Source) == model.FormatBPMN {
		return bpmn.ParseOne(row.ID, row.Source, row.ID)
	}
	d, _, err := ParseSource(row.ID, row.Source)
	return d, err
}
