package store

import "context"

// TableSize is the space one table or index takes in the database.
type TableSize struct {
	Name  string // table or index name
	Table string // the table it belongs to (itself for a table)
	Bytes int64
	Rows  int64 // rows of a table; 0 for an index
}

// Sizer is implemented by stores that can say how much space Baton's
// tables take (baton bench --storage).
type Sizer interface {
	TableSizes(ctx context.Context) ([]TableSize, error)
}
