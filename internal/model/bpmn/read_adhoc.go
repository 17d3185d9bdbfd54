package bpmn

import (
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// adHoc reads an ad-hoc sub-process's BPMN attributes and completion
// condition; zeebe:adHoc (the active elements) is read with the other
// extension elements (adHocExtension).
func (p *process) adHoc(n *model.Node, e *element) {
	if o := strings.TrimSpace(e.attr("ordering")); o != "" && o != "Parallel" {
		p.unsupportedElement(e, nil, `ordering="`+o+`" is not supported (the elements of an ad-hoc sub-process run in parallel)`)
		return
	}
	a := &model.AdHoc{}
	set := false
	if v := strings.TrimSpace(e.attr("cancelRemainingInstances")); v != "" {
		c := xmlBool(v, true)
		a.CancelRemainingInstances, set = &c, true
	}
	if c := e.child(nsBPMN, "completionCondition"); c != nil {
		if s := strings.TrimSpace(c.allText()); s != "" {
			a.CompletionCondition, set = s, true
		}
	}
	if set {
		n.AdHoc = a
	}
}

// adHocExtension reads zeebe:adHoc: activeElementsCollection on an
// ad-hoc sub-process; other attributes (a Camunda AI Agent's output
// collection) are kept for export.
func (p *process) adHocExtension(n *model.Node, k *element) {
	for _, a := range k.attrs {
		if a.Name.Space != "" {
			continue
		}
		if a.Name.Local == "activeElementsCollection" && n.Type == model.AdHocSubProcess {
			if n.AdHoc == nil {
				n.AdHoc = &model.AdHoc{}
			}
			n.AdHoc.ActiveElements = a.Value
			continue
		}
		setExt(n, "zeebe:adHoc."+a.Name.Local, a.Value)
	}
}
