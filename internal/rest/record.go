package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton/internal/replay"
	"github.com/batonhq/baton/internal/store"
)

type recordOutput struct {
	Body *replay.Record
}

func (s *server) registerRecord(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "instance-record", Method: http.MethodGet, Path: "/api/runtime/instance/{id}/record", Tags: []string{"Runtime"},
		Summary: "Everything needed to replay an instance offline",
		Description: "One document (format baton.record/1) with the definition source the instance runs, every command applied to it " +
			"(start variables, job and task outputs, LLM decisions, timers, messages, operator actions) in order, its history, " +
			"its recorded LLM calls and its last checkpoint, as one consistent snapshot. `baton replay` re-runs it without a server " +
			"or an LLM provider and reports any divergence. Instances started before commands were recorded have none and cannot be replayed.",
		Errors: []int{404},
	}, s.record)
}

func (s *server) record(ctx context.Context, in *idPath) (*recordOutput, error) {
	st := s.store()
	row, err := st.Instance(ctx, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("instance %q does not exist: %w", in.ID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	def, err := st.Definition(ctx, row.DefinitionID, row.DefinitionVersion)
	if err != nil {
		return nil, fmt.Errorf("definition %s v%d of instance %s: %w", row.DefinitionID, row.DefinitionVersion, in.ID, err)
	}
	// Commands and history are append-only and written with the instance
	// row, so reading them after the row and dropping what a later
	// transition added gives the snapshot of version row.Version.
	cmds, err := st.Commands(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	hist, err := st.History(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	decs, err := st.Decisions(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	rec := &replay.Record{
		Format:      replay.Format,
		InstanceID:  row.ID,
		BusinessKey: row.BusinessKey,
		Definition: replay.RecordDefinition{ID: def.ID, Version: def.Version, Name: def.Name, Format: string(def.Format),
			Hash: def.Hash, Source: string(def.Source)},
		Commands:  make([]replay.RecordCommand, 0, len(cmds)),
		History:   make([]replay.RecordEntry, 0, len(hist)),
		Decisions: make([]replay.RecordDecision, 0, len(decs)),
		Final: replay.RecordFinal{Status: row.Status, Version: row.Version, UpdatedAt: row.UpdatedAt.UTC(),
			State: validJSON(row.State)},
	}
	for _, c := range cmds {
		if c.Seq > row.Version {
			continue
		}
		rec.Commands = append(rec.Commands, replay.RecordCommand{Seq: c.Seq, CreatedAt: c.CreatedAt.UTC(), Command: validJSON(c.Command)})
	}
	for _, h := range hist {
		if h.Checkpoint > row.Version {
			continue
		}
		rec.History = append(rec.History, replay.RecordEntry{Seq: h.Seq, Checkpoint: h.Checkpoint, NodeID: h.NodeID,
			NodeType: h.NodeType, Action: h.Action, Timestamp: h.Time.UTC(), Result: validJSON(h.Result), Actor: h.Actor})
	}
	// Decisions are recorded before their answer's transition commits, so
	// the list may hold one whose command is not in the snapshot yet.
	for _, d := range decs {
		rec.Decisions = append(rec.Decisions, replay.RecordDecision{ID: d.ID, NodeID: d.NodeID, JobID: d.JobID,
			Provider: d.Provider, Model: d.Model, Decision: validJSON(d.Decision), InputTokens: d.InputTokens,
			OutputTokens: d.OutputTokens, LatencyMS: d.LatencyMS, CostMicros: d.CostMicros, CreatedAt: d.CreatedAt.UTC(),
			Request: validJSON(d.Request), Response: string(d.Response)})
	}
	return &recordOutput{Body: rec}, nil
}
