package engine

import (
	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/model"
)

func (s *stepper) runScript(id int64, n *model.Node) {
	s.incident(id, "script", "scripts not wired yet", "")
}

func evalString(src string, vars map[string]any) (any, error) {
	p, err := expr.Compile(src)
	if err != nil {
		return nil, err
	}
	return p.Eval(vars)
}
