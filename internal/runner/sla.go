package runner

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// SLABreach summarises due-date breaches of one definition's user tasks.
type SLABreach struct {
	DefinitionID string `json:"definitionId"`
	// Open counts open tasks already past their due date.
	Open int `json:"openOverdue"`
	// Late counts tasks completed after their due date.
	Late int `json:"completedLate"`
	// Met counts tasks with a due date completed in time.
	Met int `json:"completedInTime"`
	// WorstOverdue is the longest time an open task is past due.
	WorstOverdue time.Duration `json:"worstOverdueNs"`
	// ByNode counts breaches (open overdue + late) per user-task node.
	ByNode map[string]int `json:"byNode"`
}

// SLAReport lists due-date breaches per definition (one definition when
// definitionID is set).
func (r *Runner) SLAReport(ctx context.Context, definitionID string) ([]SLABreach, error) {
	now := r.clk.Now()
	by := map[string]*SLABreach{}
	get := func(def string) *SLABreach {
		b := by[def]
		if b == nil {
			b = &SLABreach{DefinitionID: def, ByNode: map[string]int{}}
			by[def] = b
		}
		return b
	}
	for _, state := range []string{store.TaskOpen, store.TaskCompleted} {
		after := ""
		for {
			rows, err := r.st.Tasks(ctx, store.TaskFilter{State: state, DefinitionID: definitionID, After: after, Limit: 1000})
			if err != nil {
				return nil, fmt.Errorf("sla report: %w", err)
			}
			for _, t := range rows {
				if t.DueAt.IsZero() {
					continue
				}
				b := get(t.DefinitionID)
				switch {
				case state == store.TaskOpen && now.After(t.DueAt):
					b.Open++
					b.ByNode[t.NodeID]++
					if d := now.Sub(t.DueAt); d > b.WorstOverdue {
						b.WorstOverdue = d
					}
				case state == store.TaskCompleted && t.CompletedAt.After(t.DueAt):
					b.Late++
					b.ByNode[t.NodeID]++
				case state == store.TaskCompleted:
					b.Met++
				}
			}
			if len(rows) < 1000 {
				break
			}
			after = rows[len(rows)-1].ID
		}
	}
	out := make([]SLABreach, 0, len(by))
	for _, b := range by {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DefinitionID < out[j].DefinitionID })
	return out, nil
}

// ReassignType is the task type of the built-in reassignment service task.
const ReassignType = "baton.reassign"

// ReassignHandler is the built-in service-task handler of task type
// ReassignType, for escalations: a non-interrupting timer on a user
// task leads to a service task of this type whose input mappings name the
// user task (`task`: its node id) and the new `assignee` and/or
// `candidateGroups`. The open task of that node in the same instance is
// reassigned; the change is visible at once in the inbox.
func (r *Runner) ReassignHandler() Handler {
	return HandlerFunc(func(ctx context.Context, j *Job) (map[string]any, error) {
		node, _ := j.Variables["task"].(string)
		if node == "" {
			return nil, Permanent(fmt.Errorf("reassign: input \"task\" (the user task's node id) is missing"))
		}
		assignee, _ := j.Variables["assignee"].(string)
		tasks, err := r.st.Tasks(ctx, store.TaskFilter{InstanceID: j.InstanceID, State: store.TaskOpen, Limit: 1000})
		if err != nil {
			return nil, err
		}
		n := 0
		for _, t := range tasks {
			if t.NodeID != node {
				continue
			}
			if err := r.st.UpdateTaskAssignment(ctx, t.ID, assignee); err != nil {
				return nil, err
			}
			n++
		}
		return map[string]any{"reassigned": n}, nil
	})
}
