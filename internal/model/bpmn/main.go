package bpmn

import (
	"fmt"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// Main picks the process to run among the executable processes of one
// file: the only one, or else the only one that no other of them calls
// (the others are its call activities' processes). A called element
// given as an expression counts as calling the processes whose ids begin
// or end with one of its string literals. It is an error, naming the candidates, when that leaves
// none or several.
func Main(name string, defs []*model.Definition) (*model.Definition, error) {
	if len(defs) == 1 {
		return defs[0], nil
	}
	called := map[string]bool{}
	for _, d := range defs {
		for _, n := range d.Nodes {
			if n.Type != model.CallActivity {
				continue
			}
			if !model.IsExpression(n.CalledElement) {
				if n.CalledElement != d.ID {
					called[n.CalledElement] = true
				}
				continue
			}
			// A called element given as an expression ("Process_Tier_"
			// + tier) calls the processes whose ids begin or end with
			// one of its string literals.
			for _, lit := range stringLiterals(n.CalledElement) {
				for _, o := range defs {
					if o != d && len(lit) >= 2 && (strings.HasPrefix(o.ID, lit) || strings.HasSuffix(o.ID, lit)) {
						called[o.ID] = true
					}
				}
			}
		}
	}
	var cands []*model.Definition
	for _, d := range defs {
		if !called[d.ID] {
			cands = append(cands, d)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	if len(cands) == 0 {
		cands = defs // they all call each other
	}
	ids := make([]string, len(cands))
	for i, d := range cands {
		ids[i] = fmt.Sprintf("%q", d.ID)
	}
	return nil, verr([]model.Problem{{File: name, Message: "the file has several executable processes (" +
		strings.Join(ids, ", ") + ") that no other process calls; name the one to run (--process ID)"}})
}

// stringLiterals returns the double-quoted string literals of an
// expression's source, unescaped only of \" and \\.
func stringLiterals(src string) []string {
	var out []string
	for i := 0; i < len(src); i++ {
		if src[i] != '"' {
			continue
		}
		var b strings.Builder
		j := i + 1
		for ; j < len(src) && src[j] != '"'; j++ {
			if src[j] == '\\' && j+1 < len(src) {
				j++
			}
			b.WriteByte(src[j])
		}
		out = append(out, b.String())
		i = j
	}
	return out
}

// main is Main over processes that read (their failures are reported
// first).
func (r *reader) main(run []*process) (*process, error) {
	defs := make([]*model.Definition, 0, len(run))
	for _, p := range run {
		if f := p.failures(); len(f) > 0 {
			return nil, verr(f)
		}
		defs = append(defs, p.def)
	}
	d, err := Main(r.file, defs)
	if err != nil {
		return nil, err
	}
	for _, p := range run {
		if p.def == d {
			return p, nil
		}
	}
	return nil, fmt.Errorf("bpmn: main process %q lost", d.ID)
}
