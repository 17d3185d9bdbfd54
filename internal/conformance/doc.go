// Package conformance holds the BPMN corpus conformance test. It has no
// code of its own: see conformance_test.go.
package conformance
