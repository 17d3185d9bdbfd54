package baton

import "time"

// IncidentGroup counts the open incidents that share a definition, a node
// and a message.
type IncidentGroup struct {
	DefinitionID string    `json:"definitionId"`
	NodeID       string    `json:"nodeId"`
	Message      string    `json:"message"`
	Count        int       `json:"count"`
	FirstAt      time.Time `json:"firstAt"`
	LastAt       time.Time `json:"lastAt"`
}

// IncidentGroupList is every group of open incidents, largest first.
type IncidentGroupList struct {
	Groups []IncidentGroup `json:"groups"`
}

// ResolveIncidentsRequest resolves open incidents at once: the listed
// ones, or every one of a group (definition, node and message).
type ResolveIncidentsRequest struct {
	IncidentIDs  []string `json:"incidentIds,omitempty" maxItems:"1000" doc:"The incidents to resolve; or name a group instead."`
	DefinitionID string   `json:"definitionId,omitempty" doc:"The group's definition (with nodeId and message)."`
	NodeID       string   `json:"nodeId,omitempty"`
	Message      string   `json:"message,omitempty"`
	Action       string   `json:"action" enum:"retry,skip,cancel" doc:"retry runs the failed node again; skip completes it without running it; cancel cancels the instance."`
}

// ResolveIncidentsResult says what a resolution did: how many incidents
// it resolved, and each one it could not, with the reason.
type ResolveIncidentsResult struct {
	Resolved int               `json:"resolved"`
	Failed   []IncidentFailure `json:"failed"`
}

// IncidentFailure is an incident a resolution could not resolve.
type IncidentFailure struct {
	IncidentID string `json:"incidentId"`
	InstanceID string `json:"instanceId,omitempty"`
	Error      string `json:"error"`
}
