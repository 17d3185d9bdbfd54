package runner

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewID returns a new instance id: 24 hex digits, the first 12 the
// creation time in milliseconds and the rest random. Ids made later sort
// later, so new instances (and their history and commands, keyed by
// instance id) land at the end of the stores' indexes instead of on a
// random page each: that keeps the pages a commit writes few.
func NewID() string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// slaJobID is the id of the job that watches a user task's due date.
func slaJobID(taskID string) string { return taskID + "-due" }
