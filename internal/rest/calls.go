package rest

import (
	"context"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// maxChildren bounds the children an instance document lists.
const maxChildren = 1000

// addCalls adds to an instance document its call-activity links (the
// parent, the children) and the open incidents its call activities hold
// for failed children: those are store rows, not engine incidents.
func (s *server) addCalls(ctx context.Context, inst *baton.Instance) error {
	row, err := s.store().Instance(ctx, inst.InstanceID)
	if err != nil {
		return err
	}
	if row.ParentID != "" {
		inst.Parent = &baton.CallLink{InstanceID: row.ParentID, NodeID: row.ParentNode}
		if p, err := s.store().Instance(ctx, row.ParentID); err == nil {
			inst.Parent.DefinitionID, inst.Parent.Status = p.DefinitionID, p.Status
		}
	}
	kids, err := s.store().Instances(ctx, store.InstanceFilter{ParentID: row.ID, Limit: maxChildren})
	if err != nil {
		return err
	}
	for _, k := range kids {
		inst.Children = append(inst.Children, baton.CallLink{InstanceID: k.ID, DefinitionID: k.DefinitionID, NodeID: k.ParentNode, Status: k.Status})
	}
	incs, err := s.store().Incidents(ctx, store.IncidentFilter{InstanceID: row.ID, State: store.IncidentOpen})
	if err != nil {
		return err
	}
	for _, inc := range incs {
		if inc.Kind != runner.IncidentCall {
			continue
		}
		inst.Incidents = append(inst.Incidents, baton.Incident{ID: inc.ID, InstanceID: inc.InstanceID, DefinitionID: inc.DefinitionID,
			NodeID: inc.NodeID, JobID: inc.JobID, Kind: string(inc.Kind), Message: inc.Message, State: baton.IncidentOpen,
			CreatedAt: inc.CreatedAt.UTC().Truncate(time.Microsecond)})
	}
	return nil
}
