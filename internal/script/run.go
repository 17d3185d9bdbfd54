package script

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"runtime/metrics"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// builtinGlobals returns the names on a fresh runtime's global object.
var builtinGlobals = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, name := range goja.New().GlobalObject().GetOwnPropertyNames() {
		m[name] = true
	}
	return m
})

// helpers are the globals a run adds for bpmn-engine scripts.
var helpers = []string{"environment", "next"}

// run is the state of one (*Script).Run.
type run struct {
	script *Script
	prog   *goja.Program
	vars   map[string]any
	lim    Limits
	vm     *goja.Runtime
	guard  *guard
	watch  watchdog

	injected map[string]bool // helper names added (not shadowed by a variable)

	nextCalled bool
	nextErr    goja.Value
	nextLine   int
	nextColumn int
	nextValue  goja.Value
}

func (r *run) exec() (map[string]any, any, error) {
	vm := goja.New()
	r.vm = vm
	vm.SetMaxCallStackSize(r.lim.MaxCallStackSize)
	vm.SetParserOptions(parser.WithDisableSourceMaps)
	r.guard = newGuard(vm, r.lim, r.watch.fired, !r.script.simple)

	r.injected = map[string]bool{}
	for _, name := range helpers {
		if _, ok := r.vars[name]; !ok {
			r.injected[name] = true
		}
	}
	if r.injected["environment"] {
		env := vm.NewObject()
		view := vm.NewDynamicObject(&varsView{r: r, values: map[string]goja.Value{}})
		_ = env.DefineDataProperty("variables", view, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
		if _, err := r.guard.freeze(goja.Undefined(), env); err != nil {
			return nil, nil, r.toError(err)
		}
		_ = vm.GlobalObject().DefineDataProperty("environment", env, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	}
	if r.injected["next"] {
		_ = vm.GlobalObject().DefineDataProperty("next", r.guard.fn("next", 2, r.next), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	}
	for _, name := range sortedKeys(r.vars) {
		v, err := r.toJS(r.vars[name], false, 0)
		if err != nil {
			return nil, nil, &Error{Msg: fmt.Sprintf("variable %q: %v", name, err)}
		}
		// DefineDataProperty, unlike Set, cannot reach a setter such as
		// globalThis.__proto__.
		if err := vm.GlobalObject().DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			return nil, nil, &Error{Msg: fmt.Sprintf("variable %q: %v", name, err)}
		}
	}

	r.watch.start(vm, r.lim)
	res, err := vm.RunProgram(r.prog)
	if err != nil {
		return nil, nil, r.toError(err)
	}
	if r.nextErr != nil {
		return nil, nil, &Error{Line: r.nextLine, Column: r.nextColumn, Msg: r.thrownMessage(r.nextErr)}
	}
	if r.nextCalled {
		res = r.nextValue
	}
	budget := r.guard.maxString
	result, _, err := r.export(res, &budget)
	if err != nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("result: %s", r.toError(err).Msg)}
	}
	changed, err := r.changed(&budget)
	if err != nil {
		return nil, nil, err
	}
	return changed, result, nil
}

// next is bpmn-engine's callback: next(err, value). The first call counts.
func (r *run) next(call goja.FunctionCall) goja.Value {
	if r.nextCalled {
		return goja.Undefined()
	}
	r.nextCalled = true
	if e := call.Argument(0); !goja.IsUndefined(e) && !goja.IsNull(e) {
		r.nextErr = e
		r.nextLine, r.nextColumn = framePosition(r.vm.CaptureCallStack(2, nil))
	}
	r.nextValue = call.Argument(1)
	return goja.Undefined()
}

// changed exports the globals that differ from the input variables.
func (r *run) changed(budget *int64) (map[string]any, error) {
	// The JavaScript Object.getOwnPropertyNames, unlike goja's Keys and
	// GetOwnPropertyNames, lists the global object without building every
	// builtin on it.
	own, err := r.guard.ownNames(goja.Undefined(), r.vm.GlobalObject())
	if err != nil {
		return nil, r.toError(err)
	}
	var names []string
	for _, v := range own.Export().([]any) {
		if name, ok := v.(string); ok && !builtinGlobals()[name] {
			names = append(names, name)
		}
	}
	names = append(names, r.script.lexical...)
	for name := range r.vars {
		names = append(names, name)
	}
	sort.Strings(names)
	names = slices.Compact(names)

	changed := map[string]any{}
	for _, name := range names {
		if r.injected[name] {
			continue
		}
		v := r.vm.Get(name)
		out, keep, err := r.export(v, budget)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("variable %q: %s", name, r.toError(err).Msg)}
		}
		if !keep {
			continue
		}
		if in, ok := r.vars[name]; ok && sameValue(in, out) {
			continue
		}
		changed[name] = out
	}
	return changed, nil
}

// export converts a JavaScript value to a plain Go value as JSON.stringify
// would; keep is false for values JSON drops (undefined, functions,
// symbols).
func (r *run) export(v goja.Value, budget *int64) (out any, keep bool, err error) {
	if v == nil || goja.IsUndefined(v) {
		return nil, false, nil
	}
	if goja.IsNull(v) {
		return nil, true, nil
	}
	if _, ok := v.(*goja.Symbol); ok {
		return nil, false, nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		switch x := v.Export().(type) {
		case int64:
			return x, true, nil
		case float64:
			return canonFloat(x), true, nil
		case string, bool:
			return x, true, nil
		case *big.Int:
			return nil, false, fmt.Errorf("TypeError: BigInt value can't be serialized in JSON")
		}
		return nil, false, nil
	}
	if _, isFn := goja.AssertFunction(o); isFn {
		return nil, false, nil
	}
	replacer := r.guard.countingReplacer(goja.Undefined(), 0, *budget)
	s, err := r.guard.stringify(goja.Undefined(), o, replacer)
	if err != nil {
		return nil, false, err
	}
	if goja.IsUndefined(s) {
		return nil, false, nil
	}
	text := s.String()
	*budget -= int64(len(text))
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, false, err
	}
	return canonJSON(out), true, nil
}

// canonFloat returns f as int64 when it is whole and fits, nil for NaN and
// infinities (as JSON.stringify writes null), else f.
func canonFloat(f float64) any {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return nil
	case f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64:
		return int64(f)
	}
	return f
}

// canonJSON replaces the json.Numbers of a decoded value.
func canonJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return canonFloat(f)
	case map[string]any:
		for k, e := range x {
			x[k] = canonJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = canonJSON(e)
		}
	}
	return v
}

// sameValue reports whether an input variable and an exported value are
// the same JSON value.
func sameValue(in, out any) bool {
	switch o := out.(type) {
	case nil:
		return in == nil
	case bool:
		b, ok := in.(bool)
		return ok && b == o
	case string:
		s, ok := in.(string)
		return ok && s == o
	case int64:
		if i, ok := toInt64(in); ok {
			return i == o
		}
		if f, ok := in.(float64); ok {
			return f == float64(o)
		}
	case float64:
		if f, ok := in.(float64); ok {
			return f == o
		}
	case map[string]any:
		if m, ok := in.(map[string]any); ok {
			if len(m) != len(o) {
				return false
			}
			for k, e := range o {
				ie, ok := m[k]
				if !ok || !sameValue(ie, e) {
					return false
				}
			}
			return true
		}
	case []any:
		if s, ok := in.([]any); ok {
			if len(s) != len(o) {
				return false
			}
			for i := range s {
				if !sameValue(s[i], o[i]) {
					return false
				}
			}
			return true
		}
	}
	// Some other Go type: compare its JSON form.
	c, err := jsonValue(in)
	return err == nil && reflect.DeepEqual(canonJSON(c), out)
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	}
	return 0, false
}

// jsonValue converts any Go value to its JSON form (with json.Numbers).
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out any
	err = dec.Decode(&out)
	return out, err
}

// toJS converts an input variable to a fresh JavaScript value; objects get
// their keys in sorted order, and are frozen if freeze is set.
func (r *run) toJS(v any, freeze bool, depth int) (goja.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	vm := r.vm
	switch x := v.(type) {
	case nil:
		return goja.Null(), nil
	case string, bool, float64, int64:
		return vm.ToValue(x), nil
	case float32:
		return vm.ToValue(float64(x)), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return vm.ToValue(i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		return vm.ToValue(f), nil
	case map[string]any:
		o := vm.NewObject()
		for _, k := range sortedKeys(x) {
			e, err := r.toJS(x[k], freeze, depth+1)
			if err != nil {
				return nil, err
			}
			// DefineDataProperty, unlike Set, makes "__proto__" an own key.
			_ = o.DefineDataProperty(k, e, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
		}
		return r.maybeFreeze(o, freeze)
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			je, err := r.toJS(e, freeze, depth+1)
			if err != nil {
				return nil, err
			}
			items[i] = je
		}
		return r.maybeFreeze(vm.NewArray(items...), freeze)
	}
	if i, ok := toInt64(v); ok {
		return vm.ToValue(i), nil
	}
	if u, ok := v.(uint64); ok {
		return vm.ToValue(float64(u)), nil
	}
	if u, ok := v.(uint); ok {
		return vm.ToValue(float64(u)), nil
	}
	// Any other Go value enters as its JSON form, never as a wrapped Go
	// object whose methods a script could call.
	j, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	return r.toJS(j, freeze, depth)
}

func (r *run) maybeFreeze(o *goja.Object, freeze bool) (goja.Value, error) {
	if freeze {
		if _, err := r.guard.freeze(goja.Undefined(), o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// varsView is environment.variables: a read-only view of the input
// variables whose values are converted (and frozen) on first use.
type varsView struct {
	r      *run
	values map[string]goja.Value
}

func (v *varsView) Get(key string) goja.Value {
	if jv, ok := v.values[key]; ok {
		return jv
	}
	x, ok := v.r.vars[key]
	if !ok {
		return nil
	}
	jv, err := v.r.toJS(x, true, 0)
	if err != nil {
		panic(v.r.vm.NewTypeError(fmt.Sprintf("environment.variables.%s: %v", key, err)))
	}
	v.values[key] = jv
	return jv
}

func (v *varsView) Set(string, goja.Value) bool { return false }
func (v *varsView) Has(key string) bool {
	_, ok := v.r.vars[key]
	return ok
}
func (v *varsView) Delete(string) bool { return false }
func (v *varsView) Keys() []string     { return sortedKeys(v.r.vars) }

// thrownMessage describes a thrown value: "TypeError: x is not a function"
// for errors, "Uncaught <value>" for anything else.
func (r *run) thrownMessage(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Error" {
		return safeString(v)
	}
	if o, ok := v.(*goja.Object); ok {
		if _, isFn := goja.AssertFunction(o); !isFn {
			budget := int64(1000)
			if s, err := r.guard.stringify(goja.Undefined(), o, r.guard.countingReplacer(goja.Undefined(), 0, budget)); err == nil && !goja.IsUndefined(s) {
				return "Uncaught " + truncate(s.String())
			}
		}
	}
	return "Uncaught " + safeString(v)
}

// safeString is v.String() for messages: it survives a throwing toString
// and is cut to a readable length.
func safeString(v goja.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = "[object]"
		}
	}()
	if v == nil {
		return "undefined"
	}
	return truncate(v.String())
}

func truncate(s string) string {
	const max = 500
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// allocsMetric counts the bytes the process has allocated.
const allocsMetric = "/gc/heap/allocs:bytes"

// watchdog interrupts a run on its timeout or when the process has
// allocated more than the run's MaxAllocBytes since it started.
type watchdog struct {
	done     chan struct{}
	stopOnce sync.Once
	cause    atomic.Pointer[error] // ErrTimeout or ErrMemoryLimit once fired
}

const watchEvery = 2 * time.Millisecond

func (w *watchdog) start(vm *goja.Runtime, lim Limits) {
	w.done = make(chan struct{})
	sample := []metrics.Sample{{Name: allocsMetric}}
	metrics.Read(sample)
	measure := sample[0].Value.Kind() == metrics.KindUint64
	var base uint64
	if measure {
		base = sample[0].Value.Uint64()
	}
	go func() {
		timeout := time.NewTimer(lim.Timeout)
		defer timeout.Stop()
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-timeout.C:
				w.cause.Store(&ErrTimeout)
				vm.Interrupt(ErrTimeout)
				return
			case <-tick.C:
				if !measure {
					continue
				}
				metrics.Read(sample)
				if sample[0].Value.Uint64()-base > uint64(lim.MaxAllocBytes) {
					w.cause.Store(&ErrMemoryLimit)
					vm.Interrupt(ErrMemoryLimit)
					return
				}
			}
		}
	}()
}

// fired reports whether the watchdog has interrupted the run.
func (w *watchdog) fired() bool { return w.cause.Load() != nil }

// firedCause returns ErrTimeout or ErrMemoryLimit once the watchdog has
// fired, nil before.
func (w *watchdog) firedCause() error {
	if c := w.cause.Load(); c != nil {
		return *c
	}
	return nil
}

func (w *watchdog) stop() {
	if w.done != nil {
		w.stopOnce.Do(func() { close(w.done) })
	}
}
