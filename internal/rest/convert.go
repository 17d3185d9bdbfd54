package rest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// loadInstance reads an instance's checkpoint and history and returns the
// instance document.
func (s *server) loadInstance(ctx context.Context, id string) (*baton.Instance, error) {
	st, row, err := s.r.InstanceState(ctx, id)
	if err != nil {
		return nil, err
	}
	hist, err := s.r.History(ctx, id)
	if err != nil {
		return nil, err
	}
	inst := toInstance(st, row, hist)
	return &inst, nil
}

// toInstance builds the instance document from a checkpoint and its
// history. History rows committed after the checkpoint was read are left
// out, so that the document is one consistent snapshot.
func toInstance(st *engine.State, row store.InstanceRow, hist []store.HistoryRow) baton.Instance {
	vars := st.Variables
	if vars == nil {
		vars = map[string]any{}
	}
	inst := baton.Instance{
		InstanceID:        row.ID,
		DefinitionID:      row.DefinitionID,
		DefinitionVersion: row.DefinitionVersion,
		BusinessKey:       row.BusinessKey,
		Status:            row.Status,
		CurrentNodeIDs:    st.CurrentNodeIDs(),
		ProcessData:       vars,
		CreatedAt:         row.CreatedAt.UTC(),
		UpdatedAt:         row.UpdatedAt.UTC(),
		EndedAt:           timePtr(row.EndedAt),
	}
	if inst.CurrentNodeIDs == nil {
		inst.CurrentNodeIDs = []string{}
	}
	inst.ExecutionHistory, inst.Checkpoints = toHistory(hist, row)
	for _, t := range st.Tokens {
		inst.Tokens = append(inst.Tokens, baton.Token{ID: t.ID, NodeID: t.Node, Scope: t.Scope, Wait: string(t.Wait), Ref: t.Ref})
	}
	for _, inc := range st.Incidents {
		inst.Incidents = append(inst.Incidents, baton.Incident{
			ID: inc.ID, InstanceID: row.ID, DefinitionID: row.DefinitionID, NodeID: inc.NodeID,
			Kind: string(inc.Kind), Message: inc.Message, State: baton.IncidentOpen, CreatedAt: inc.Time.UTC().Truncate(time.Microsecond),
		})
	}
	return inst
}

// toHistory converts history rows (up to the row's version) and derives
// one checkpoint per committed transition from their Checkpoint field.
func toHistory(hist []store.HistoryRow, row store.InstanceRow) ([]baton.HistoryEntry, []baton.Checkpoint) {
	entries := make([]baton.HistoryEntry, 0, len(hist))
	cps := []baton.Checkpoint{}
	for _, h := range hist {
		if row.Version > 0 && h.Checkpoint > row.Version {
			continue
		}
		e := baton.HistoryEntry{NodeID: h.NodeID, NodeType: h.NodeType, Action: h.Action, Timestamp: h.Time.UTC(), Actor: h.Actor}
		if len(h.Result) > 0 {
			var v any
			if json.Unmarshal(h.Result, &v) == nil {
				e.Result = v
			}
		}
		entries = append(entries, e)
		if n := len(cps); n == 0 || cps[n-1].Version != h.Checkpoint {
			cps = append(cps, baton.Checkpoint{Version: h.Checkpoint, Timestamp: h.Time.UTC()})
		}
	}
	if n := len(cps); n > 0 && cps[n-1].Version == row.Version {
		cps[n-1].Status = row.Status
	}
	return entries, cps
}

func toSummary(row store.InstanceRow) baton.InstanceSummary {
	return baton.InstanceSummary{
		InstanceID: row.ID, DefinitionID: row.DefinitionID, DefinitionVersion: row.DefinitionVersion,
		BusinessKey: row.BusinessKey, Status: row.Status,
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(), EndedAt: timePtr(row.EndedAt),
	}
}

func toTask(t store.TaskRow) baton.Task {
	groups := t.CandidateGroups
	if groups == nil {
		groups = []string{}
	}
	return baton.Task{
		ID: t.ID, InstanceID: t.InstanceID, DefinitionID: t.DefinitionID, NodeID: t.NodeID, Name: t.Name,
		Assignee: t.Assignee, CandidateGroups: groups, CandidateUsers: t.CandidateUsers,
		DueAt: timePtr(t.DueAt), CreatedAt: t.CreatedAt.UTC(), State: t.State,
		Priority: t.Priority, CompletedAt: timePtr(t.CompletedAt), CompletedBy: t.CompletedBy,
	}
}

func toDefinition(d store.DefinitionRow) baton.Definition {
	return baton.Definition{ID: d.ID, Version: d.Version, Name: d.Name, Format: string(d.Format),
		DeployedAt: d.DeployedAt.UTC(), DeployedBy: d.DeployedBy, Hash: d.Hash}
}

func toIncident(i store.IncidentRow) baton.Incident {
	return baton.Incident{
		ID: i.ID, InstanceID: i.InstanceID, DefinitionID: i.DefinitionID, NodeID: i.NodeID, JobID: i.JobID,
		Kind: string(i.Kind), Message: i.Message, Attempts: i.Attempts, State: i.State, CreatedAt: i.CreatedAt.UTC(),
		ResolvedAt: timePtr(i.ResolvedAt), ResolvedBy: i.ResolvedBy, Advice: validJSON(i.Advice),
	}
}

func validJSON(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return json.RawMessage(b)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
