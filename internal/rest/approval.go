package rest

import (
	"github.com/batonhq/baton/internal/form"
	"github.com/batonhq/baton/internal/model"
)

// approvalForm is the form of an agent's approval task (a guarded tool
// call waiting for a person, engine/guard.go): the proposed tool and the
// model's reason shown; approved, a comment and the call's input
// editable. The engine reads {"approved", "comment", "input"}.
func approvalForm(n *model.Node, current map[string]any) *form.Form {
	input, _ := current["input"].(map[string]any)
	if input == nil {
		input = map[string]any{}
	}
	return form.Generate(form.GenerateInput{ID: n.ID + "-approval",
		Inputs: []string{"tool", "reason"}, Outputs: []string{"approved", "comment", "input"},
		Variables: map[string]any{"tool": current["tool"], "reason": current["reason"], "approved": false, "comment": "", "input": input}})
}
