package expr

// Missing returns the top-level variables the expression reads that vars
// does not define (functions excluded). Token simulation uses it to read
// undefined variables as null, as the stub policy of the conformance corpus
// prescribes; normal evaluation treats them as errors.
func (p *Program) Missing(vars map[string]any) []string {
	var out []string
	for _, r := range p.refs {
		if r.fn {
			continue
		}
		if _, ok := vars[r.name]; !ok {
			out = append(out, r.name)
		}
	}
	return out
}
