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

// SetVariablesRequest changes an instance's variables from outside.
type SetVariablesRequest struct {
	Variables map[string]any `json:"variables" minProperties:"1" doc:"Variables to set: each replaces the variable of its name (or adds it); the others are kept."`
}

// InstanceJob is one job of an instance: where it stands in its retries.
type InstanceJob struct {
	ID          string    `json:"id"`
	NodeID      string    `json:"nodeId"`
	Kind        string    `json:"kind"`
	TaskType    string    `json:"taskType,omitempty"`
	State       string    `json:"state" doc:"available, running, completed, dead or cancelled."`
	Attempts    int       `json:"attempts" doc:"Attempts started so far."`
	MaxAttempts int       `json:"maxAttempts,omitempty" doc:"0: the server's default."`
	LastError   string    `json:"lastError,omitempty"`
	LastFailure time.Time `json:"lastFailureAt,omitzero"`
	// NextAttemptAt is when an available job runs next: after a failure,
	// the next retry.
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	LeaseUntil    time.Time `json:"leaseUntil,omitzero" doc:"While running: until when its worker holds it."`
	CreatedAt     time.Time `json:"createdAt"`
}

// InstanceJobList is every job of an instance, oldest first.
type InstanceJobList struct {
	Jobs []InstanceJob `json:"jobs"`
}
