package bpmn

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// Export writes the semantic part of d as BPMN 2.0 XML: one
// bpmn:definitions holding one executable bpmn:process, without diagram
// interchange. Vendor fields are written as zeebe: extension elements
// (task type, assignment, forms, mappings, decisions), camunda: attributes
// (form key, result variable, multi-instance collection) and baton:
// attributes (HTTP calls, notifications, retries, due times), so that
// Parse(Export(d)) gives an equivalent definition. d need not be built.
func Export(d *model.Definition) ([]byte, error) {
	if d == nil {
		return nil, errors.New("bpmn: export of a nil definition")
	}
	if strings.TrimSpace(d.ID) == "" {
		return nil, errors.New("bpmn: definition has no id")
	}
	x := &exporter{d: d, used: map[string]bool{d.ID: true}, prefixes: map[string]string{}, assocs: map[string]string{}}
	return x.export()
}

type exporter struct {
	d    *model.Definition
	w    xmlWriter
	used map[string]bool // ids in use

	messages    []namedRef // message elements (name, correlation key)
	signals     []namedRef
	errs        []namedRef
	escalations []namedRef
	forms       []namedRef // zeebe:userTaskForm: id → node

	prefixes map[string]string // unknown extension prefixes → namespace
	assocs   map[string]string // compensation boundary event → its association's id
}

// association returns the id of the association from compensation
// boundary event n to its handler.
func (x *exporter) association(n *model.Node) string {
	if id, ok := x.assocs[n.ID]; ok {
		return id
	}
	id := x.fresh("Association_" + ncName(n.ID))
	x.assocs[n.ID] = id
	return id
}

// namedRef is a definitions-level element generated for the process.
type namedRef struct {
	id, name, key string
	node          *model.Node
}

func (x *exporter) export() ([]byte, error) {
	d := x.d
	for _, n := range d.Nodes {
		if n != nil {
			x.used[n.ID] = true
		}
	}
	for _, e := range d.Edges {
		if e != nil {
			x.used[e.ID] = true
		}
	}
	// Definitions-level elements first: ids must not clash with nodes.
	byScope := map[string][]*model.Node{}
	for _, n := range d.Nodes {
		if n == nil {
			continue
		}
		byScope[n.Parent] = append(byScope[n.Parent], n)
		if ev := n.Event; ev != nil {
			switch ev.Kind {
			// An event without a name refers to no definitions-level
			// element (one would give it a name when read back).
			case model.EventMessage:
				if ev.Name != "" || ev.CorrelationKey != "" {
					x.ref(&x.messages, "Message_", ev.Name, ev.CorrelationKey, nil)
				}
			case model.EventSignal:
				if ev.Name != "" {
					x.ref(&x.signals, "Signal_", ev.Name, "", nil)
				}
			case model.EventError:
				if ev.ErrorCode != "" {
					x.ref(&x.errs, "Error_", ev.ErrorCode, "", nil)
				}
			case model.EventEscalation:
				if ev.Name != "" {
					x.ref(&x.escalations, "Escalation_", ev.Name, "", nil)
				}
			}
		}
		if len(n.Form) > 0 {
			x.ref(&x.forms, "UserTaskForm_", n.ID, "", n)
		}
		for k := range n.Extensions {
			if p, _, ok := strings.Cut(k, ":"); ok && canonicalPrefix[nsForPrefix(p)] == "" && validName(p) && !reservedPrefix(p) {
				x.prefixes[p] = "urn:baton:extension:" + p
			}
		}
	}
	// A node whose parent does not exist is written at process level, so
	// that nothing is lost.
	known := map[string]bool{"": true}
	for _, n := range d.Nodes {
		if n != nil && n.Type.IsScope() {
			known[n.ID] = true
		}
	}
	var orphans []*model.Node
	for p, ns := range byScope {
		if !known[p] {
			orphans = append(orphans, ns...)
		}
	}
	sort.SliceStable(orphans, func(i, j int) bool { return orphans[i].ID < orphans[j].ID })
	byScope[""] = append(byScope[""], orphans...)

	nodeByID := map[string]*model.Node{}
	for _, n := range d.Nodes {
		if n != nil {
			nodeByID[n.ID] = n
		}
	}
	edgesByScope := map[string][]*model.Edge{}
	in, out := map[string][]string{}, map[string][]string{}
	for _, e := range d.Edges {
		if e == nil {
			continue
		}
		scope := ""
		if s := nodeByID[e.Source]; s != nil {
			scope = s.Parent
		} else if t := nodeByID[e.Target]; t != nil {
			scope = t.Parent
		}
		if !known[scope] {
			scope = ""
		}
		edgesByScope[scope] = append(edgesByScope[scope], e)
		out[e.Source] = append(out[e.Source], e.ID)
		in[e.Target] = append(in[e.Target], e.ID)
	}

	w := &x.w
	w.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	attrs := []string{
		"xmlns:bpmn", nsBPMN,
		"xmlns:xsi", nsXSI,
		"xmlns:zeebe", nsZeebe,
		"xmlns:camunda", nsCamunda,
		"xmlns:baton", nsBaton,
		"xmlns:bpmndi", nsBPMNDI,
		"xmlns:dc", nsDC,
		"xmlns:di", nsDI,
	}
	for _, p := range sortedKeys(x.prefixes) {
		attrs = append(attrs, "xmlns:"+p, x.prefixes[p])
	}
	attrs = append(attrs, "id", "Definitions_"+ncName(d.ID), "targetNamespace", "https://baton.dev/bpmn", "exporter", "Baton", "exporterVersion", "1")
	w.open("bpmn:definitions", attrs...)
	for _, m := range x.messages {
		if m.key == "" {
			w.leaf("bpmn:message", "id", m.id, "name", m.name)
			continue
		}
		w.open("bpmn:message", "id", m.id, "name", m.name)
		w.open("bpmn:extensionElements")
		w.leaf("zeebe:subscription", "correlationKey", m.key)
		w.close("bpmn:extensionElements")
		w.close("bpmn:message")
	}
	for _, s := range x.signals {
		w.leaf("bpmn:signal", "id", s.id, "name", s.name)
	}
	for _, e := range x.errs {
		w.leaf("bpmn:error", "id", e.id, "name", e.name, "errorCode", e.name)
	}
	for _, e := range x.escalations {
		w.leaf("bpmn:escalation", "id", e.id, "name", e.name, "escalationCode", e.name)
	}
	pattrs := []string{"id", d.ID, "name", d.Name, "isExecutable", "true"}
	if l := d.LLM; l != nil {
		for _, a := range []struct {
			name string
			v    int
		}{{"baton:llmInstanceBudget", l.InstanceBudget}, {"baton:llmDailyBudget", l.DailyBudget}, {"baton:maxAutoRetries", l.MaxAutoRetries}} {
			if a.v != 0 {
				pattrs = append(pattrs, a.name, strconv.Itoa(a.v))
			}
		}
		if l.AutoRetryAdvice {
			pattrs = append(pattrs, "baton:autoRetryAdvice", "true")
		}
	}
	if d.UniqueBusinessKey {
		pattrs = append(pattrs, "baton:uniqueBusinessKey", "true")
	}
	if d.Retention != "" {
		pattrs = append(pattrs, "baton:retention", d.Retention)
	}
	if len(d.TaskListColumns) > 0 {
		cols, err := json.Marshal(d.TaskListColumns)
		if err == nil {
			pattrs = append(pattrs, "baton:taskListColumns", string(cols))
		}
	}
	w.open("bpmn:process", pattrs...)
	if d.Description != "" {
		w.text("bpmn:documentation", d.Description)
	}
	if len(x.forms) > 0 || d.VersionTag != "" {
		w.open("bpmn:extensionElements")
		if d.VersionTag != "" {
			w.leaf("zeebe:versionTag", "value", d.VersionTag)
		}
		for _, f := range x.forms {
			w.text("zeebe:userTaskForm", string(f.node.Form), "id", f.id)
		}
		w.close("bpmn:extensionElements")
	}
	written := 0
	var scope func(parent string)
	scope = func(parent string) {
		for _, n := range byScope[parent] {
			written++
			x.node(n, in[n.ID], out[n.ID], func() {
				if n.Type.IsScope() && n.ID != parent {
					scope(n.ID)
				}
			})
		}
		for _, e := range edgesByScope[parent] {
			x.edge(e)
		}
		for _, n := range byScope[parent] {
			if n.Compensation != "" {
				w.leaf("bpmn:association", "id", x.association(n), "associationDirection", "One", "sourceRef", n.ID, "targetRef", n.Compensation)
			}
		}
	}
	scope("")
	if total := len(byID(d)); written < total {
		return nil, fmt.Errorf("bpmn: %d of %d nodes are not reachable through their parents (a cycle of sub-processes?)", total-written, total)
	}
	w.close("bpmn:process")
	x.diagram(byScope, edgesByScope, nodeByID)
	w.close("bpmn:definitions")
	return w.b.Bytes(), nil
}

// byID returns the non-nil nodes of d.
func byID(d *model.Definition) []*model.Node {
	var out []*model.Node
	for _, n := range d.Nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// ref adds a definitions-level element for name (and key) unless one
// exists, giving it a fresh id.
func (x *exporter) ref(list *[]namedRef, prefix, name, key string, n *model.Node) {
	if n == nil {
		for _, r := range *list {
			if r.name == name && r.key == key {
				return
			}
		}
	}
	*list = append(*list, namedRef{id: x.fresh(prefix + ncName(name)), name: name, key: key, node: n})
}

func (x *exporter) refID(list []namedRef, name, key string) string {
	for _, r := range list {
		if r.name == name && r.key == key {
			return r.id
		}
	}
	return ""
}

func (x *exporter) formID(n *model.Node) string {
	for _, f := range x.forms {
		if f.node == n {
			return f.id
		}
	}
	return ""
}
