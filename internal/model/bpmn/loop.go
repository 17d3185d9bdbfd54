package bpmn

import (
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// standardLoop reads standardLoopCharacteristics: testBefore and
// loopMaximum attributes, a loopCondition child.
func (p *process) standardLoop(n *model.Node, e *element) {
	l := &model.StandardLoop{TestBefore: xmlBool(e.attr("testBefore"), false)}
	n.Loop = l
	if v := strings.TrimSpace(e.attr("loopMaximum")); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil {
			p.problem(e, n.ID, "loopMaximum %q is not an integer", v)
		} else {
			l.Maximum = k
		}
	}
	for _, k := range e.kids {
		if !k.bpmn() {
			continue
		}
		switch k.name.Local {
		case "loopCondition":
			l.Condition = strings.TrimSpace(k.allText())
		case "extensionElements", "documentation":
		default:
			p.unsupportedElement(k, n, "")
		}
	}
}

// standardLoop writes a node's standard loop.
func (x *exporter) standardLoop(l *model.StandardLoop) {
	w := &x.w
	a := []string{"testBefore", "", "loopMaximum", ""}
	if l.TestBefore {
		a[1] = "true"
	}
	if l.Maximum > 0 {
		a[3] = strconv.Itoa(l.Maximum)
	}
	if l.Condition == "" {
		w.leaf("bpmn:standardLoopCharacteristics", a...)
		return
	}
	w.open("bpmn:standardLoopCharacteristics", a...)
	w.text("bpmn:loopCondition", l.Condition, "xsi:type", "bpmn:tFormalExpression")
	w.close("bpmn:standardLoopCharacteristics")
}

func isFEEL(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "=") }
