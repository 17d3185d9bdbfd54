package model

import (
	"fmt"
	"strings"
)

// locate completes the position of problems about a node or an edge: the
// column of the element the line points at, and for workflow JSON the JSON
// path of the node or edge ("nodes[2].script").
func (b *builder) locate(probs []Problem) {
	d := b.d
	for i := range probs {
		p := &probs[i]
		if !d.fromJSON {
			p.Path = ""
		}
		if p.NodeID == "" {
			if d.fromJSON && p.Path == "" && p.Field != "" && !strings.ContainsAny(p.Field, " ") {
				p.Path = p.Field
			}
			continue
		}
		line, col, path := 0, 0, ""
		if n := d.nodeByID[p.NodeID]; n != nil {
			line, col, path = n.Line, n.Column, fmt.Sprintf("nodes[%d]", n.idx)
		} else if e := d.edgeByID[p.NodeID]; e != nil {
			line, col, path = e.Line, e.Column, fmt.Sprintf("edges[%d]", e.idx)
		} else {
			continue
		}
		if d.fromJSON && p.Path == "" {
			p.Path = path
			if p.Field != "" {
				p.Path += "." + p.Field
			}
		}
		if p.Column == 0 && p.Line == line {
			p.Column = col
		}
	}
}
