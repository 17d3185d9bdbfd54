package model

import (
	"strings"
)

// StandardLoop is BPMN's standardLoopCharacteristics: the activity runs
// again and again, like a do-while loop (or a while loop with TestBefore),
// as long as Condition holds, at most Maximum times. Each run sees its
// number as loopCounter (1, 2, ...).
type StandardLoop struct {
	// Condition is evaluated after each run (before each run with
	// TestBefore); the activity runs again while it is true. Without a
	// condition the activity runs Maximum times.
	Condition string `json:"condition,omitempty"`
	// Maximum bounds the runs (0: no bound but the engine's limit of
	// MaxLoopRuns).
	Maximum int `json:"maximum,omitempty"`
	// TestBefore checks Condition before the first run too, so the
	// activity may not run at all.
	TestBefore bool `json:"testBefore,omitempty"`
}

// MaxLoopRuns bounds the runs of one standard loop and the instances of
// one multi-instance activity, so that a condition that never turns
// false becomes an incident instead of an endless instance.
const MaxLoopRuns = 10_000

func (b *builder) standardLoop(n *Node) {
	l := n.Loop
	if !n.Type.IsActivity() {
		b.errf(n.Line, n.ID, "loop", "only activities can loop")
		return
	}
	if n.MultiInstance != nil {
		b.errf(n.Line, n.ID, "loop", "an activity is either multi-instance or a standard loop, not both")
	}
	if n.Type == AgentTask {
		b.errf(n.Line, n.ID, "loop", "agent tasks cannot loop")
	}
	if l.Maximum < 0 {
		b.errf(n.Line, n.ID, "loop.maximum", "loop maximum %d is negative", l.Maximum)
	}
	if l.Maximum > MaxLoopRuns {
		b.errf(n.Line, n.ID, "loop.maximum", "loop maximum %d is over the limit of %d", l.Maximum, MaxLoopRuns)
	}
	if strings.TrimSpace(l.Condition) == "" {
		if l.Maximum == 0 {
			b.errf(n.Line, n.ID, "loop", "a standard loop needs a condition or a maximum")
		}
		return
	}
	n.setExpr("loopCondition", b.compileExpr(n, n.Line, n.ID, "loop.condition", l.Condition))
}

// miOutput checks and compiles a multi-instance activity's output
// collection and element (Zeebe's loopCharacteristics outputCollection
// and outputElement): each needs the other.
func (b *builder) miOutput(n *Node, mi *MultiInstance) {
	switch {
	case mi.OutputCollection == "" && mi.OutputElement == "":
		return
	case mi.OutputCollection == "":
		b.errf(n.Line, n.ID, "multiInstance.outputCollection", "an output element needs an output collection to collect into")
		return
	case strings.TrimSpace(mi.OutputElement) == "":
		b.errf(n.Line, n.ID, "multiInstance.outputElement", "an output collection needs an output element to collect")
		return
	}
	if !isVariableName(mi.OutputCollection) {
		b.errf(n.Line, n.ID, "multiInstance.outputCollection", "%q is not a variable name", mi.OutputCollection)
	}
	n.setExpr("outputElement", b.compileExpr(n, n.Line, n.ID, "multiInstance.outputElement", mi.OutputElement))
}

// OutputVariable is the variable an output element names when it is a
// plain variable ("=result", "result"), else "". As in Zeebe, such a
// variable is made local to each instance, so that what one instance
// writes to it does not overwrite another's.
func (mi *MultiInstance) OutputVariable() string {
	s := strings.TrimSpace(mi.OutputElement)
	if strings.HasPrefix(s, "=") {
		s = strings.TrimSpace(s[1:])
	}
	switch s {
	case "true", "false", "null", "nil":
		return ""
	}
	if isVariableName(s) {
		return s
	}
	return ""
}

// isVariableName reports whether s is a name usable as a variable in
// every expression language Baton has: a letter or underscore, then
// letters, digits or underscores.
func isVariableName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}
