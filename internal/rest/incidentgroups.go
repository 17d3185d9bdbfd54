package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// maxResolve bounds one resolution: a group larger than this is resolved
// by repeating the request (each answer says how many were resolved).
const maxResolve = 1000

type incidentGroupsOutput struct {
	Body baton.IncidentGroupList
}

type resolveIncidentsInput struct {
	Body baton.ResolveIncidentsRequest
}

func (in *resolveIncidentsInput) Resolve(huma.Context) []error {
	b := in.Body
	group := b.DefinitionID != "" || b.NodeID != "" || b.Message != ""
	switch {
	case len(b.IncidentIDs) > 0 && group:
		return []error{&huma.ErrorDetail{Location: "body.incidentIds", Message: "name incidents or a group (definitionId, nodeId, message), not both"}}
	case len(b.IncidentIDs) == 0 && !group:
		return []error{&huma.ErrorDetail{Location: "body.incidentIds", Message: "name the incidents, or a group with definitionId, nodeId and message"}}
	case group && (b.DefinitionID == "" || b.NodeID == ""):
		return []error{&huma.ErrorDetail{Location: "body.nodeId", Message: "a group needs definitionId and nodeId (and the message it shows)"}}
	}
	return nil
}

type resolveIncidentsOutput struct {
	Body baton.ResolveIncidentsResult
}

func (s *server) registerIncidentGroups(api huma.API) {
	tags := []string{"Runtime"}
	handle(s, api, huma.Operation{
		OperationID: "incident-groups", Method: http.MethodGet, Path: "/api/runtime/incident-groups", Tags: tags,
		Summary:     "Open incidents by definition, node and message",
		Description: "Counts the open incidents that share a definition, a node and an error message, largest group first, with the oldest and newest incident's time. GET /api/runtime/incidents?state=open&definitionId=&nodeId=&message= lists one group.",
	}, s.incidentGroups)
	handle(s, api, huma.Operation{
		OperationID: "resolve-incidents", Method: http.MethodPost, Path: "/api/runtime/incidents/resolve", Tags: tags,
		Summary: "Retry, skip or cancel many incidents",
		Description: "Resolves the listed open incidents, or every open incident of a group (definitionId, nodeId and message; at most 1000 a request), " +
			"each as POST /api/runtime/recover/{id} would (retry or skip, recorded in the instance history with the caller), or cancels their instances. " +
			"The answer counts the resolved ones and names each one that could not be resolved, with the reason; an incident that is no longer open is among those.",
		Errors: []int{400, 422},
	}, s.resolveIncidents)
}

func (s *server) incidentGroups(ctx context.Context, _ *struct{}) (*incidentGroupsOutput, error) {
	gs, err := s.store().IncidentGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := &incidentGroupsOutput{Body: baton.IncidentGroupList{Groups: make([]baton.IncidentGroup, 0, len(gs))}}
	for _, g := range gs {
		out.Body.Groups = append(out.Body.Groups, baton.IncidentGroup{DefinitionID: g.DefinitionID, NodeID: g.NodeID, Message: g.Message,
			Count: g.Count, FirstAt: g.FirstAt.UTC(), LastAt: g.LastAt.UTC()})
	}
	return out, nil
}

func (s *server) resolveIncidents(ctx context.Context, in *resolveIncidentsInput) (*resolveIncidentsOutput, error) {
	b := in.Body
	res := baton.ResolveIncidentsResult{Failed: []baton.IncidentFailure{}}
	// targets are the incidents in the request's order; one that cannot
	// be read keeps its place with the reason (err).
	type target struct {
		inc store.IncidentRow
		err error
	}
	var targets []target
	if len(b.IncidentIDs) > 0 {
		for _, id := range b.IncidentIDs {
			row, err := s.store().Incident(ctx, id)
			if err == nil && row.State != store.IncidentOpen {
				err = fmt.Errorf("incident is %s, not open", row.State)
			}
			row.ID = id
			targets = append(targets, target{row, err})
		}
	} else {
		rows, err := s.store().Incidents(ctx, store.IncidentFilter{State: store.IncidentOpen, DefinitionID: b.DefinitionID,
			NodeID: b.NodeID, Message: b.Message, Limit: maxResolve})
		if err != nil {
			return nil, fmt.Errorf("resolve incidents: %w", err)
		}
		for _, r := range rows {
			targets = append(targets, target{inc: r})
		}
	}
	cancelled := map[string]bool{}
	for _, t := range targets {
		inc, err := t.inc, t.err
		if err == nil {
			switch {
			case b.Action == "cancel" && cancelled[inc.InstanceID]:
				// Cancelling the instance closed this incident too.
			case b.Action == "cancel":
				_, err = s.r.Cancel(ctx, inc.InstanceID, actor(ctx))
				cancelled[inc.InstanceID] = err == nil
			default:
				_, err = s.r.Recover(ctx, runner.RecoverRequest{InstanceID: inc.InstanceID, IncidentID: inc.ID, Action: b.Action, Actor: actor(ctx)})
			}
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		if err != nil {
			res.Failed = append(res.Failed, baton.IncidentFailure{IncidentID: inc.ID, InstanceID: inc.InstanceID, Error: err.Error()})
			continue
		}
		res.Resolved++
	}
	return &resolveIncidentsOutput{Body: res}, nil
}
