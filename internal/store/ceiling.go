package store

import (
	"time"
)

// CeilingOptions configure a raw ceiling run (`baton bench --ceiling`):
// each store writes the rows of straight instances straight into its
// database, Batch instances per transaction, with no engine and no
// Store, for Duration.
type CeilingOptions struct {
	Duration time.Duration
	Batch    int
	// Writers is the number of transactions in flight where the database
	// takes several at once (PostgreSQL).
	Writers int
}

// The rows of one straight-through instance as the stores write them for
// the straight model (pure handler, one transition): six history rows
// (started, start event, task waiting and completed, end event,
// completed) and state and command blobs of the size the engine writes
// (about 220 bytes each).
var (
	ceilingHistory = [6][3]string{{"", "", "started"}, {"StartEvent_1", "startEvent", "completed"},
		{"Task_1", "serviceTask", "waiting"}, {"Task_1", "serviceTask", "completed"},
		{"EndEvent_1", "endEvent", "completed"}, {"", "", "completed"}}
	ceilingBlob = []byte(`{"instanceId":"0123456789abcdef01234567","definitionId":"straight","definitionVersion":1,` +
		`"status":"COMPLETED","variables":null,"seq":2,"startedAt":"2026-12-05T06:06:38.026397721Z","endedAt":"2026-12-05T06:06:38.026397721Z"}`)
)

// CeilingInstance returns the rows of one completed straight instance:
// the instance (version 1, six history rows), its history and its
// command.
func CeilingInstance(id string, now time.Time) (InstanceRow, []HistoryRow, []byte) {
	in := InstanceRow{ID: id, DefinitionID: "straight", DefinitionVersion: 1, Status: "COMPLETED",
		State: ceilingBlob, Version: 1, CreatedAt: now, UpdatedAt: now, EndedAt: now}
	h := make([]HistoryRow, len(ceilingHistory))
	for i, c := range ceilingHistory {
		h[i] = HistoryRow{InstanceID: id, Seq: int64(i + 1), NodeID: c[0], NodeType: c[1], Action: c[2], Time: now, Checkpoint: 1}
	}
	return in, h, ceilingBlob
}
