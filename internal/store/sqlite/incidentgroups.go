package sqlite

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/store"
)

// IncidentGroups counts open incidents by definition, node and message.
func (s *Store) IncidentGroups(ctx context.Context) ([]store.IncidentGroup, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT definition_id, node_id, message, count(*), min(created_at), max(created_at)
		FROM incidents WHERE state = 'open' GROUP BY definition_id, node_id, message
		ORDER BY count(*) DESC, definition_id, node_id, message LIMIT ? + 0`, store.MaxLimit)
	if err != nil {
		return nil, fmt.Errorf("incident groups: %w", err)
	}
	out, err := scanAll(rows, func(r rowScanner) (store.IncidentGroup, error) {
		var g store.IncidentGroup
		err := r.Scan(&g.DefinitionID, &g.NodeID, &g.Message, &g.Count, timeCol{&g.FirstAt}, timeCol{&g.LastAt})
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("incident groups: %w", err)
	}
	return out, nil
}
