package model

import "strings"

// TaskHeaders returns the node's task headers (zeebe:taskHeaders, kept
// as "zeebe:header.KEY" extensions): static key/value pairs that Zeebe
// hands to the job worker with each job, and Baton to handlers (Job) and
// external workers (customHeaders). nil when there are none.
func (n *Node) TaskHeaders() map[string]string { return n.extGroup("zeebe:header.") }

// Properties returns the node's extension properties (zeebe:properties
// and camunda:properties, kept as "zeebe:property.NAME" and
// "camunda:property.NAME" extensions). Baton does not interpret them; it
// keeps them for handlers and writes them back on BPMN export. nil when
// there are none.
func (n *Node) Properties() map[string]string {
	m := n.extGroup("camunda:property.")
	for k, v := range n.extGroup("zeebe:property.") {
		if m == nil {
			m = map[string]string{}
		}
		m[k] = v
	}
	return m
}

func (n *Node) extGroup(prefix string) map[string]string {
	var m map[string]string
	for k, v := range n.Extensions {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if m == nil {
				m = map[string]string{}
			}
			m[rest] = v
		}
	}
	return m
}
