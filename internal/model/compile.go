package model

import (
	"fmt"
	"strings"

	"github.com/batonhq/baton/internal/expr"
)

// IsExpression reports whether a field value is an expression rather than a
// literal: it starts with "=" or is wrapped in ${...}.
func IsExpression(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "=") || (strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}")) ||
		(strings.HasPrefix(s, "#{") && strings.HasSuffix(s, "}"))
}

// maxExprBytes and maxExprDepth bound one expression, so that a hostile
// definition cannot exhaust the parser's stack.
const (
	maxExprBytes = 64 << 10
	maxExprDepth = 256
)

func exprDepth(s string) int {
	max := 0
	scanCode(s, func(_ int, _ byte, depth int) {
		if depth > max {
			max = depth
		}
	})
	return max
}

// scanCode calls visit for each byte of s outside string literals with
// the bracket depth after it (negative after an unmatched closing
// bracket); it reports false when a string is left open.
func scanCode(s string, visit func(i int, c byte, depth int)) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
			continue
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		visit(i, c, depth)
	}
	return quote == 0
}

func (b *builder) compileExpr(n *Node, line int, id, field, src string) *expr.Program {
	if len(src) > maxExprBytes {
		b.errf(line, id, field, "expression is %d bytes; the limit is %d", len(src), maxExprBytes)
		return nil
	}
	if d := exprDepth(src); d > maxExprDepth {
		b.errf(line, id, field, "expression nests %d levels deep; the limit is %d", d, maxExprDepth)
		return nil
	}
	compile := expr.Compile
	if b.d.feelDefault() {
		compile = expr.CompileFEEL
	}
	p, err := compile(src)
	if err != nil {
		b.errf(line, id, field, "%v", err)
		return nil
	}
	if p.IsFEEL() {
		if names := p.UnknownFunctions(); len(names) > 0 {
			b.errf(line, id, field, "unknown function %q in the expression %q: FEEL has no built-in function of that name", names[0], src)
			return nil
		}
		return p
	}
	if name, col := unknownFunction(src); name != "" {
		b.errf(line, id, field, "unknown function %q (column %d of the expression %q): Baton expressions have no function of that name", name, col, src)
		return nil
	}
	return p
}

func (n *Node) setExpr(key string, p *expr.Program) {
	if p == nil {
		return
	}
	if n.exprs == nil {
		n.exprs = map[string]*expr.Program{}
	}
	n.exprs[key] = p
}

// feelDefault reports whether bare expressions are FEEL.
func (d *Definition) feelDefault() bool { return strings.EqualFold(d.ExpressionLanguage, "feel") }

func (b *builder) compile() {
	d := b.d
	switch strings.ToLower(d.ExpressionLanguage) {
	case "", "feel", "expr":
	default:
		b.errf(0, "", "expressionLanguage", "expression language %q is not supported (use \"feel\" or \"expr\")", d.ExpressionLanguage)
		return
	}
	for _, e := range d.Edges {
		if strings.TrimSpace(e.Condition) == "" || e == e.source.defaultE {
			continue
		}
		if e.source.Type == ParallelGateway {
			continue
		}
		switch strings.ToLower(e.Language) {
		case "", "feel", "expr", "${}", "juel", "http://www.omg.org/spec/feel/20140401":
		case "javascript", "js", "ecmascript", "text/javascript", "application/javascript":
			e.js = true
			b.compileScript(e.Line, e.ID, "condition", e.Condition)
			continue
		default:
			b.errf(e.Line, e.ID, "language", "condition language %q is not supported (use a Baton expression or javascript)", e.Language)
			continue
		}
		e.cond = b.compileExpr(nil, e.Line, e.ID, "condition", e.Condition)
	}
	hookPaths := map[string]string{}
	for _, n := range d.Nodes {
		tool := b.toolInputs(n)
		for i, m := range n.Inputs {
			if n.IsCamundaAgent() {
				break // its settings (camunda_agent.go), never evaluated as mappings
			}
			if m.Target == "" {
				b.errf(n.Line, n.ID, fmt.Sprintf("inputs[%d].target", i), "mapping has no target")
			}
			src := m.Source
			if s, ok := tool[i]; ok {
				src = s
			}
			n.setExpr(fmt.Sprintf("input:%d", i), b.compileExpr(n, n.Line, n.ID, fmt.Sprintf("inputs[%d].source", i), src))
		}
		for i, m := range n.Outputs {
			if m.Target == "" {
				b.errf(n.Line, n.ID, fmt.Sprintf("outputs[%d].target", i), "mapping has no target")
			}
			n.setExpr(fmt.Sprintf("output:%d", i), b.compileExpr(n, n.Line, n.ID, fmt.Sprintf("outputs[%d].source", i), m.Source))
		}
		if n.Event != nil && n.Event.Kind == EventConditional && strings.TrimSpace(n.Event.Condition) != "" {
			n.setExpr("condition", b.compileExpr(n, n.Line, n.ID, "event.condition", n.Event.Condition))
		}
		if IsExpression(n.TaskType) {
			n.setExpr("taskType", b.compileExpr(n, n.Line, n.ID, "taskType", n.TaskType))
		}
		if n.Type == CallActivity && IsExpression(n.CalledElement) {
			n.setExpr("calledElement", b.compileExpr(n, n.Line, n.ID, "calledElement", n.CalledElement))
		}
		if n.Event != nil && IsExpression(n.Event.CorrelationKey) {
			n.setExpr("correlationKey", b.compileExpr(n, n.Line, n.ID, "event.correlationKey", n.Event.CorrelationKey))
		}
		if n.Event != nil && n.Event.Timer != nil {
			t := n.Event.Timer
			for _, s := range []string{t.Duration, t.Date, t.Cycle} {
				if IsExpression(s) {
					n.setExpr("timer", b.compileExpr(n, n.Line, n.ID, "event.timer", s))
				}
			}
		}
		if mi := n.MultiInstance; mi != nil {
			if !n.Type.IsActivity() {
				b.errf(n.Line, n.ID, "multiInstance", "only activities can be multi-instance")
			}
			if mi.Cardinality == "" && mi.Collection == "" {
				b.errf(n.Line, n.ID, "multiInstance", "multi-instance needs a cardinality or a collection")
			}
			if mi.Cardinality != "" {
				n.setExpr("cardinality", b.compileExpr(n, n.Line, n.ID, "multiInstance.cardinality", mi.Cardinality))
			}
			if mi.Collection != "" {
				n.setExpr("collection", b.compileExpr(n, n.Line, n.ID, "multiInstance.collection", mi.Collection))
			}
			if mi.CompletionCondition != "" {
				n.setExpr("completionCondition", b.compileExpr(n, n.Line, n.ID, "multiInstance.completionCondition", mi.CompletionCondition))
			}
			b.miOutput(n, mi)
		}
		if n.Loop != nil {
			b.standardLoop(n)
		}
		for _, f := range [...]struct {
			field string
			list  []string
		}{{"candidateUsers", n.CandidateUsers}, {"candidateGroups", n.CandidateGroups}} {
			field := f.field
			for i, s := range f.list {
				if IsExpression(s) {
					key := fmt.Sprintf("%s:%d", field, i)
					n.setExpr(key, b.compileExpr(n, n.Line, n.ID, fmt.Sprintf("%s[%d]", field, i), s))
				}
			}
		}
		for _, f := range [...]struct{ field, s string }{{"assignee", n.Assignee}, {"dueIn", n.DueIn}, {"followUpIn", n.FollowUpIn}} {
			field, s := f.field, f.s
			if IsExpression(s) {
				n.setExpr(field, b.compileExpr(n, n.Line, n.ID, field, s))
			} else if s != "" && field != "assignee" {
				if _, err := ParseDuration(s); err != nil {
					if _, derr := ParseDate(s); derr != nil {
						b.errf(n.Line, n.ID, field, "%q is neither an ISO 8601 duration nor a date", s)
					}
				}
			}
		}
		b.priority(n)
		if n.Type == UserTask || n.Type == ServiceTask || n.Type == SendTask || n.Type == BusinessRuleTask {
			if n.Retry != nil {
				b.retry(n)
			}
		}
		if n.HTTP != nil && strings.TrimSpace(n.HTTP.URL) == "" {
			b.errf(n.Line, n.ID, "http.url", "HTTP call has no URL")
		}
		if n.HTTP != nil {
			b.httpTemplates(n)
			for i, m := range n.HTTP.Response {
				if m.Target == "" {
					b.errf(n.Line, n.ID, fmt.Sprintf("http.response[%d].target", i), "mapping has no target")
				}
				n.setExpr(fmt.Sprintf("response:%d", i), b.compileExpr(n, n.Line, n.ID, fmt.Sprintf("http.response[%d].source", i), m.Source))
			}
			for k, code := range n.HTTP.Errors {
				if !validStatusKey(k) {
					b.errf(n.Line, n.ID, "http.errors", "%q is not a status code (\"404\") or class (\"4xx\")", k)
				}
				if strings.TrimSpace(code) == "" {
					b.errf(n.Line, n.ID, "http.errors", "status %s maps to an empty error code", k)
				}
			}
			for _, c := range n.HTTP.RetryOn {
				if c < 100 || c > 599 {
					b.errf(n.Line, n.ID, "http.retryOn", "%d is not an HTTP status code", c)
				}
			}
			if n.HTTP.Timeout != "" {
				if d, err := ParseDuration(n.HTTP.Timeout); err != nil || d <= 0 {
					b.errf(n.Line, n.ID, "http.timeout", "%q is not a positive ISO 8601 duration", n.HTTP.Timeout)
				}
			}
		}
		b.brokerEnds(n)
		b.webhookEnd(n, hookPaths)
		if n.Notify != nil {
			switch n.Notify.Channel {
			case "email", "sms", "webhook":
			default:
				b.errf(n.Line, n.ID, "notify.channel", "unknown channel %q (want email, sms or webhook)", n.Notify.Channel)
			}
		}
	}
}
