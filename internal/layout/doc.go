// Package layout holds the test that enforces the dependency rules of
// STYLE.md: imports point down the layer table, only the store packages
// import database drivers, handlers depend on the runner and never the
// reverse, and the engine does no I/O.
package layout
