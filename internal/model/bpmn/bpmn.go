// Package bpmn reads BPMN 2.0 XML into model.Definitions and writes them
// back.
//
// Reading is strict about what can run and lenient about what cannot
// matter: every flow element Baton does not execute (complexGateway,
// transaction, event sub-processes...) is refused by name, id and line,
// while diagram interchange, lanes, annotations, data associations and
// vendor extensions Baton does not understand are skipped. Camunda 7
// (camunda:), Camunda 8 / Zeebe (zeebe:) and Baton (baton:) extensions are
// mapped onto the model: task types, assignments, forms, mappings, retries,
// HTTP calls and notifications.
//
// All failures are *model.ValidationError with the file name and line of
// each problem. Parsing never expands entities (DTDs are refused) and is
// bounded in size, nesting and element count.
//
// Vendor extensions read (and written back by Export):
//
//	model field            Camunda 7                          Zeebe / Camunda 8                      Baton
//	TaskType               camunda:type="external" topic      zeebe:taskDefinition type
//	Retry                  camunda:failedJobRetryTimeCycle     zeebe:taskDefinition retries           baton:retries backoff factor maxBackoff
//	Assignee, Candidate*   camunda:assignee candidateUsers    zeebe:assignmentDefinition
//	                       candidateGroups (and BPMN potentialOwner / humanPerformer)
//	DueIn, FollowUpIn      camunda:dueDate followUpDate       zeebe:taskSchedule                     baton:dueIn followUpIn
//	FormKey, Form          camunda:formKey, camunda:formData  zeebe:formDefinition, zeebe:userTaskForm
//	Inputs, Outputs        camunda:inputOutput, camunda:in/out zeebe:ioMapping
//	Script, ResultVariable bpmn:script, camunda:resultVariable zeebe:script
//	DecisionRef            camunda:decisionRef                zeebe:calledDecision
//	CalledElement          calledElement                      zeebe:calledElement
//	MultiInstance          camunda:collection elementVariable zeebe:loopCharacteristics
//	Event.CorrelationKey                                      zeebe:subscription (on the message)
//	HTTP                                                                                             baton:url method timeout body headers query
//	Notify                                                                                           baton:channel to subject template body
//
// Durations and expressions go in unchanged ("PT4H", "${x}", "=x"); an
// absolute due date has no model field and stays in Node.Extensions.
// Other vendor attributes are kept in Node.Extensions as "prefix:name";
// camunda:/zeebe: properties and task headers as "camunda:property.NAME",
// "zeebe:property.NAME" and "zeebe:header.KEY". Listeners, connectors and
// script-valued mappings are not run and produce a warning.
package bpmn

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/batonhq/baton/internal/model"
)

// Options change how a document is read.
type Options struct {
	// IgnoreExtensions skips the camunda:, zeebe: and baton: extensions
	// (attributes and extension elements): task types, assignments, forms,
	// input/output mappings, correlation keys, retries, HTTP calls. The
	// model keeps only the standard BPMN semantics. The conformance corpus
	// runs models this way (its stub policy ignores vendor extensions).
	IgnoreExtensions bool
}

// Document is everything Import found in a file.
type Document struct {
	Processes []ProcessInfo
}

// ProcessInfo describes one process of a document.
type ProcessInfo struct {
	ID   string
	Name string
	// IsExecutable is the process's isExecutable attribute as written.
	IsExecutable bool
	// Definition is the built definition, or nil when it does not build
	// (Problems says why).
	Definition *model.Definition
	// Problems are the reasons Definition is nil.
	Problems []model.Problem
	// FlowElements counts the process's flow elements (sub-process
	// contents included) by BPMN type name: "StartEvent", "ServiceTask",
	// "DataObjectReference"... Sequence flows are counted in SequenceFlows.
	FlowElements  map[string]int
	SequenceFlows int
}

// Parse reads BPMN 2.0 XML and returns one built Definition per executable
// process, in document order. A process is executable when its
// isExecutable attribute is "true", or when it is the only process of a
// file that marks none. name labels errors (a file name) and becomes each
// Definition's Source.
func Parse(name string, data []byte) ([]*model.Definition, error) {
	return ParseWith(name, data, Options{})
}

// ParseWith is Parse with options.
func ParseWith(name string, data []byte, opts Options) ([]*model.Definition, error) {
	r, err := read(name, data, opts)
	if err != nil {
		return nil, err
	}
	var out []*model.Definition
	var probs []model.Problem
	for _, p := range r.runnable() {
		if p.def != nil {
			out = append(out, p.def)
		}
		probs = append(probs, p.failures()...)
	}
	if len(probs) > 0 {
		return nil, verr(probs)
	}
	if len(out) == 0 {
		return nil, verr([]model.Problem{{File: name, Message: "no executable process (mark one isExecutable=\"true\")" + r.listIDs()}})
	}
	return out, nil
}

// ParseOne returns the one process to run from a file. With a processID it
// returns that process, executable or not (a call activity may start a
// process its file does not mark executable). Without one it returns the
// only executable process, or among several the one no other calls
// (Main); when that is ambiguous the error lists the candidates.
func ParseOne(name string, data []byte, processID string) (*model.Definition, error) {
	return ParseOneWith(name, data, processID, Options{})
}

// ParseOneWith is ParseOne with options.
func ParseOneWith(name string, data []byte, processID string, opts Options) (*model.Definition, error) {
	r, err := read(name, data, opts)
	if err != nil {
		return nil, err
	}
	var p *process
	if processID != "" {
		for _, q := range r.procs {
			if q.id == processID {
				p = q
				break
			}
		}
		if p == nil {
			return nil, verr([]model.Problem{{File: name, Message: fmt.Sprintf("no process %q in the file%s", processID, r.listIDs())}})
		}
	} else {
		run := r.runnable()
		switch len(run) {
		case 0:
			return nil, verr([]model.Problem{{File: name, Message: "no executable process (mark one isExecutable=\"true\" or name the process to run)" + r.listIDs()}})
		case 1:
			p = run[0]
		default:
			if p, err = r.main(run); err != nil {
				return nil, err
			}
		}
	}
	if f := p.failures(); len(f) > 0 {
		return nil, verr(f)
	}
	return p.def, nil
}

// Import reads every process of a file, executable or not, with its flow
// element counts. It fails only when the file cannot be imported at all:
// it is not BPMN 2.0 XML, exceeds a limit, or holds an element Baton does
// not support (named with its id and line). A process that reads but does
// not build has a nil Definition and its Problems.
func Import(name string, data []byte) (*Document, error) {
	r, err := read(name, data, Options{})
	if err != nil {
		return nil, err
	}
	var unsupported []model.Problem
	for _, p := range r.procs {
		unsupported = append(unsupported, p.unsupported...)
	}
	if len(unsupported) > 0 {
		return nil, verr(unsupported)
	}
	doc := &Document{}
	for _, p := range r.procs {
		info := ProcessInfo{
			ID:            p.id,
			Name:          p.name,
			IsExecutable:  p.executable,
			FlowElements:  p.counts,
			SequenceFlows: p.flows,
		}
		if f := p.failures(); len(f) > 0 {
			info.Problems = f
		} else {
			info.Definition = p.def
		}
		doc.Processes = append(doc.Processes, info)
	}
	return doc, nil
}

// verr sorts problems by line (document-level ones first) and wraps them.
func verr(probs []model.Problem) *model.ValidationError {
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return &model.ValidationError{Problems: probs}
}

// IsXML reports whether a definition source is XML (BPMN) rather than
// workflow JSON: it starts with a UTF-16 byte order mark, or its first
// non-space character after any UTF-8 byte order mark is '<'.
func IsXML(data []byte) bool {
	if bytes.HasPrefix(data, []byte("\xfe\xff")) || bytes.HasPrefix(data, []byte("\xff\xfe")) {
		return true
	}
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(data) > 0 && data[0] == '<'
}
