package store

import "time"

// IncidentGroup counts the open incidents that share a definition, a node
// and a message: the operator's unit of "the same failure".
type IncidentGroup struct {
	DefinitionID string
	NodeID       string
	Message      string
	Count        int
	FirstAt      time.Time // the oldest incident's CreatedAt
	LastAt       time.Time // the newest incident's CreatedAt
}
