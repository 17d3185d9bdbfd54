package script

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"
)

// maxDepth is the deepest nesting of arrays and objects that join,
// JSON.stringify, JSON.parse and the conversion of variables accept. Those
// recurse on the Go stack, and a Go stack overflow kills the process.
const maxDepth = 1000

// removedGlobals allocate their whole size in one step: new
// ArrayBuffer(1e10) is a fatal out-of-memory error, not an exception.
var removedGlobals = []string{
	"ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics",
	"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
	"Int32Array", "Uint32Array", "Float16Array", "Float32Array", "Float64Array",
	"BigInt64Array", "BigUint64Array",
}

// functionPrototypes evaluates to the prototypes of generator and async
// functions, whose constructors compile strings like Function does.
var functionPrototypes = goja.MustCompile("", "[Object.getPrototypeOf(function*(){}), Object.getPrototypeOf(async function(){})]", true)

// guard installs and runs the sandbox's checks on one runtime. See the
// package documentation for what it guards and why.
type guard struct {
	vm        *goja.Runtime
	stopped   func() bool // whether the watchdog has fired
	maxLen    int64       // longest array-like a builtin may walk or build
	maxString int64       // longest string a builtin may build

	rangeError *goja.Object
	evalError  *goja.Object
	stringify  goja.Callable // the original JSON.stringify
	freeze     goja.Callable
	ownNames   goja.Callable // Object.getOwnPropertyNames

	joining []*goja.Object // arrays being joined, innermost last
}

// newGuard prepares a runtime. With full unset it only captures what
// exporting values needs, for scripts that cannot call builtins (isSimple).
func newGuard(vm *goja.Runtime, lim Limits, stopped func() bool, full bool) *guard {
	g := &guard{
		vm:        vm,
		stopped:   stopped,
		maxLen:    max(lim.MaxAllocBytes/64, 1024),
		maxString: max(lim.MaxAllocBytes/4, 1024),
	}
	global := vm.GlobalObject()
	object := global.Get("Object").(*goja.Object)
	g.freeze = g.callable(object, "freeze")
	g.ownNames = g.callable(object, "getOwnPropertyNames")
	json := global.Get("JSON").(*goja.Object)
	g.stringify = g.callable(json, "stringify")
	if !full {
		return g
	}

	g.rangeError = global.Get("RangeError").(*goja.Object)
	g.evalError = global.Get("EvalError").(*goja.Object)
	for _, name := range removedGlobals {
		_ = global.Delete(name)
	}
	for _, name := range []string{"keys", "values", "entries", "getOwnPropertyNames", "getOwnPropertyDescriptors", "assign"} {
		g.wrap(object, name, g.stringArgs)
	}
	reflect := global.Get("Reflect").(*goja.Object)
	g.wrap(reflect, "ownKeys", g.stringArgs)
	g.wrap(reflect, "apply", func(call goja.FunctionCall) { g.arrayLike(call.Argument(2), "argument list") })
	g.wrap(reflect, "construct", func(call goja.FunctionCall) { g.arrayLike(call.Argument(1), "argument list") })

	g.noCodeGeneration(global)
	fn := global.Get("Function").(*goja.Object)
	g.wrap(fn.Get("prototype").(*goja.Object), "apply", func(call goja.FunctionCall) { g.arrayLike(call.Argument(1), "argument list") })

	g.guardArrays(global)
	g.guardStrings(global)
	g.guardRegExps(global)

	g.define(json, "stringify", g.fn("stringify", 3, g.jsonStringify))
	g.wrap(json, "parse", g.jsonParse)
	return g
}

// noCodeGeneration replaces eval and the constructors of functions,
// generators and async functions with functions that throw EvalError.
// Every replacement keeps its prototype, so instanceof still works.
func (g *guard) noCodeGeneration(global *goja.Object) {
	refuse := func(proto *goja.Object) *goja.Object {
		f := g.vm.ToValue(func(goja.ConstructorCall) *goja.Object {
			g.throw(g.evalError, "Code generation from strings disallowed for this context")
			return nil
		}).(*goja.Object)
		_ = f.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
		_ = proto.DefineDataProperty("constructor", f, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
		return f
	}
	g.define(global, "eval", g.fn("eval", 1, func(goja.FunctionCall) goja.Value {
		g.throw(g.evalError, "Code generation from strings disallowed for this context")
		return nil
	}))
	g.define(global, "Function", refuse(global.Get("Function").(*goja.Object).Get("prototype").(*goja.Object)))
	v, err := g.vm.RunProgram(functionPrototypes)
	if err != nil {
		panic(err)
	}
	arr := v.(*goja.Object)
	for _, i := range []string{"0", "1"} {
		refuse(arr.Get(i).(*goja.Object))
	}
}

func (g *guard) guardArrays(global *goja.Object) {
	array := global.Get("Array").(*goja.Object)
	g.wrap(array, "from", func(call goja.FunctionCall) { g.arrayLike(call.Argument(0), "source") })
	proto := array.Get("prototype").(*goja.Object)
	thisArray := func(call goja.FunctionCall) { g.arrayLike(call.This, "array") }
	for _, name := range proto.GetOwnPropertyNames() {
		switch name {
		case "constructor", "length", "toString": // toString calls join
		case "join":
			g.define(proto, name, g.fn(name, 1, func(call goja.FunctionCall) goja.Value {
				return g.join(call.This, call.Argument(0), false)
			}))
		case "toLocaleString":
			g.define(proto, name, g.fn(name, 0, func(call goja.FunctionCall) goja.Value {
				return g.join(call.This, goja.Undefined(), true)
			}))
		case "concat":
			g.wrap(proto, name, func(call goja.FunctionCall) {
				n := g.arrayLike(call.This, "array")
				for _, a := range call.Arguments {
					if o, ok := a.(*goja.Object); ok && o.ClassName() == "Array" {
						n += g.arrayLike(o, "array")
					}
				}
				g.checkLength(n, "result")
			})
		case "flat":
			// flat(Infinity) recurses once per level on the Go stack.
			g.wrap(proto, name, func(call goja.FunctionCall) {
				g.arrayLike(call.This, "array")
				if len(call.Arguments) > 0 {
					if d := call.Arguments[0].ToFloat(); d > maxDepth {
						call.Arguments[0] = g.vm.ToValue(maxDepth)
					}
				}
			})
		default:
			g.wrap(proto, name, thisArray)
		}
	}
	// Spreading, for-of and Array.from(array) iterate through
	// Array.prototype[Symbol.iterator], which is Array.prototype.values.
	_ = proto.DefineDataPropertySymbol(goja.SymIterator, proto.Get("values"), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

func (g *guard) guardStrings(global *goja.Object) {
	str := global.Get("String").(*goja.Object)
	g.wrap(str, "raw", func(call goja.FunctionCall) {
		if o, ok := call.Argument(0).(*goja.Object); ok {
			g.arrayLike(o.Get("raw"), "raw strings")
		}
	})
	proto := str.Get("prototype").(*goja.Object)
	g.wrap(proto, "repeat", func(call goja.FunctionCall) {
		n := call.Argument(0).ToFloat()
		if n >= 1 {
			g.checkString(float64(g.thisString(call).Length()) * math.Floor(n))
		}
	})
	pad := func(call goja.FunctionCall) { g.checkString(call.Argument(0).ToFloat()) }
	g.wrap(proto, "padStart", pad)
	g.wrap(proto, "padEnd", pad)
	g.wrap(proto, "split", func(call goja.FunctionCall) {
		s := g.thisString(call)
		if int64(s.Length()) <= g.maxLen {
			return
		}
		if lim := call.Argument(1); !goja.IsUndefined(lim) && lim.ToFloat() <= float64(g.maxLen) {
			return
		}
		if sep, ok := call.Argument(0).Export().(string); ok && sep != "" {
			g.checkLength(int64(strings.Count(s.String(), sep))+1, "result")
			return
		}
		g.checkLength(int64(s.Length()), "result")
	})
	replace := func(all bool) func(goja.FunctionCall) {
		return func(call goja.FunctionCall) {
			repl, ok := call.Argument(1).(goja.String)
			if !ok {
				return // a replacer function is JavaScript, and interruptible
			}
			s := g.thisString(call).String()
			count := 1
			switch pat := call.Argument(0).(type) {
			case goja.String:
				if all {
					count = strings.Count(s, pat.String())
				}
			case *goja.Object:
				if pat.Get("global").ToBoolean() {
					count = len(s) + 1
				}
			}
			r := repl.String()
			per := len(r) + strings.Count(r, "$")*len(s) // $&, $` and $' insert parts of s
			g.checkString(float64(len(s)) + float64(count)*float64(per))
		}
	}
	g.wrap(proto, "replace", replace(false))
	g.wrap(proto, "replaceAll", replace(true))
	long := func(call goja.FunctionCall) { g.checkLength(int64(g.thisString(call).Length()), "string") }
	g.wrap(proto, "match", long)
	g.wrap(proto, "matchAll", long)
	iter := g.wrapped(proto.GetSymbol(goja.SymIterator), "[Symbol.iterator]", long)
	_ = proto.DefineDataPropertySymbol(goja.SymIterator, iter, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// regexpTimeout bounds one match in regexp2, the backtracking engine goja
// uses for patterns with lookarounds or backreferences; the interrupt does
// not reach into a match, and catastrophic backtracking can take hours.
// regexp2 reads DefaultMatchTimeout when a pattern is compiled; in Baton
// only goja uses regexp2.
const regexpTimeout = time.Second

func init() { regexp2.DefaultMatchTimeout = regexpTimeout }

// guardRegExps makes a match that regexp2 stopped an error: goja would
// take it for "no match" and go on.
func (g *guard) guardRegExps(global *goja.Object) {
	proto := global.Get("RegExp").(*goja.Object).Get("prototype").(*goja.Object)
	for _, name := range []string{"exec", "test"} {
		orig := g.callable(proto, name)
		g.define(proto, name, g.fn(name, 1, func(call goja.FunctionCall) goja.Value {
			start := time.Now()
			r, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			if time.Since(start) >= regexpTimeout {
				g.throw(g.rangeError, "regular expression match stopped after %v", regexpTimeout)
			}
			return r
		}))
	}
}

// stringArgs refuses string arguments longer than maxLen, which functions
// such as Object.keys turn into one value per character.
func (g *guard) stringArgs(call goja.FunctionCall) {
	for _, a := range call.Arguments {
		if s, ok := a.(goja.String); ok {
			g.checkLength(int64(s.Length()), "string")
		}
	}
}

// thisString is the string a String.prototype method works on.
func (g *guard) thisString(call goja.FunctionCall) goja.String {
	if goja.IsUndefined(call.This) || goja.IsNull(call.This) {
		panic(g.vm.NewTypeError("String.prototype method called on null or undefined"))
	}
	return g.str(call.This)
}

// str converts v to a JavaScript string, calling its toString if it is an
// object.
func (g *guard) str(v goja.Value) goja.String {
	if s, ok := v.(goja.String); ok {
		return s
	}
	if s, ok := v.ToString().(goja.String); ok {
		return s
	}
	return g.vm.ToValue(v.String()).(goja.String)
}

// arrayLike checks the length of an array-like value and returns it.
func (g *guard) arrayLike(v goja.Value, what string) int64 {
	var n int64
	switch v := v.(type) {
	case *goja.Object:
		n = v.Get("length").ToInteger()
	case goja.String:
		n = int64(v.Length())
	}
	g.checkLength(n, what)
	return n
}

func (g *guard) checkLength(n int64, what string) {
	if n > g.maxLen {
		g.throw(g.rangeError, "%s length %d exceeds the sandbox limit of %d", what, n, g.maxLen)
	}
}

func (g *guard) checkString(n float64) {
	if n > float64(g.maxString) {
		g.throw(g.rangeError, "Invalid string length: %.0f exceeds the sandbox limit of %d", n, g.maxString)
	}
}

// join is Array.prototype.join (and toLocaleString) with limits on the
// output, the nesting and the watchdog; like goja, it joins an array that
// contains itself as "".
func (g *guard) join(this, sepArg goja.Value, locale bool) goja.Value {
	o := this.ToObject(g.vm)
	for _, a := range g.joining {
		if a == o {
			return g.vm.ToValue("")
		}
	}
	if len(g.joining) >= maxDepth {
		g.throw(g.rangeError, "arrays nested more than %d levels deep", maxDepth)
	}
	g.joining = append(g.joining, o)
	defer func() { g.joining = g.joining[:len(g.joining)-1] }()

	n := g.arrayLike(o, "array")
	var sep goja.String
	if locale || goja.IsUndefined(sepArg) {
		sep = g.str(g.vm.ToValue(","))
	} else {
		sep = g.str(sepArg)
	}
	var b goja.StringBuilder
	size := int64(0)
	for i := int64(0); i < n; i++ {
		if g.stopped() {
			g.throw(g.rangeError, "script stopped")
		}
		if i > 0 {
			b.WriteString(sep)
			size += int64(sep.Length())
		}
		el := o.Get(strconv.FormatInt(i, 10))
		if el == nil || goja.IsUndefined(el) || goja.IsNull(el) {
			continue
		}
		if locale {
			el = g.invoke(el, "toLocaleString")
		}
		s := g.str(el)
		size += int64(s.Length())
		g.checkString(float64(size))
		b.WriteString(s)
	}
	return b.String()
}

// invoke calls the method name of v.
func (g *guard) invoke(v goja.Value, name string) goja.Value {
	f, ok := goja.AssertFunction(v.ToObject(g.vm).Get(name))
	if !ok {
		panic(g.vm.NewTypeError(name + " is not a function"))
	}
	r, err := f(v)
	if err != nil {
		panic(err)
	}
	return r
}

// jsonStringify is JSON.stringify with limits on output size and nesting,
// enforced by a replacer function that every value passes through.
func (g *guard) jsonStringify(call goja.FunctionCall) goja.Value {
	replacer := g.countingReplacer(call.Argument(1), gapLength(call.Argument(2)), g.maxString)
	r, err := g.stringify(goja.Undefined(), call.Argument(0), replacer, call.Argument(2))
	if err != nil {
		panic(err)
	}
	return r
}

// gapLength is the length of the indentation JSON.stringify's space
// argument asks for.
func gapLength(space goja.Value) int {
	switch s := space.(type) {
	case goja.String:
		return min(s.Length(), 10)
	case nil:
		return 0
	}
	if goja.IsUndefined(space) || goja.IsNull(space) {
		return 0
	}
	if o, ok := space.(*goja.Object); ok && o.ClassName() == "String" {
		return min(len(o.String()), 10)
	}
	return int(min(max(space.ToInteger(), 0), 10))
}

// countingReplacer returns a JSON.stringify replacer that applies the
// user's replacer (a function, or an array of property names: these are
// applied in the object's key order rather than the list's) and throws once
// the output would pass budget bytes or the nesting maxDepth.
func (g *guard) countingReplacer(user goja.Value, gap int, budget int64) goja.Value {
	var (
		fn    goja.Callable
		allow map[string]bool
	)
	if o, ok := user.(*goja.Object); ok {
		if f, ok := goja.AssertFunction(o); ok {
			fn = f
		} else if o.ClassName() == "Array" {
			n := g.arrayLike(o, "replacer")
			allow = make(map[string]bool, n)
			for i := int64(0); i < n; i++ {
				switch v := o.Get(strconv.FormatInt(i, 10)).(type) {
				case goja.String:
					allow[v.String()] = true
				case *goja.Object:
					if c := v.ClassName(); c == "String" || c == "Number" {
						allow[v.String()] = true
					}
				default:
					if v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
						if _, ok := v.Export().(string); ok || isNumber(v) {
							allow[v.String()] = true
						}
					}
				}
			}
		}
	}
	depth := map[*goja.Object]int{}
	return g.fn("replacer", 2, func(call goja.FunctionCall) goja.Value {
		if g.stopped() {
			g.throw(g.rangeError, "script stopped")
		}
		holder, _ := call.This.(*goja.Object)
		key := call.Argument(0)
		v := call.Argument(1)
		d, nested := depth[holder]
		switch {
		case fn != nil:
			var err error
			if v, err = fn(call.This, key, v); err != nil {
				panic(err)
			}
		case allow != nil && nested && holder.ClassName() != "Array" && !allow[key.String()]:
			return goja.Undefined()
		}
		cost := int64(g.str(key).Length() + 4 + gap*d)
		switch v := v.(type) {
		case goja.String:
			cost += int64(v.Length())
		case *goja.Object:
			if _, isFn := goja.AssertFunction(v); !isFn {
				if d+1 > maxDepth {
					g.throw(g.rangeError, "JSON.stringify: value nested more than %d levels deep", maxDepth)
				}
				depth[v] = d + 1
				switch v.ClassName() {
				case "String":
					cost += int64(g.str(v).Length())
				case "Array":
					g.arrayLike(v, "array")
				}
			}
		default:
			cost += 24
		}
		if budget -= cost; budget < 0 {
			g.throw(g.rangeError, "JSON.stringify: output exceeds the sandbox limit of %d bytes", g.maxString)
		}
		return v
	})
}

func isNumber(v goja.Value) bool {
	switch v.Export().(type) {
	case int64, float64:
		return true
	}
	return false
}

// jsonParse refuses texts longer than maxString or nested deeper than
// maxDepth.
func (g *guard) jsonParse(call goja.FunctionCall) {
	s := call.Argument(0).String()
	g.checkString(float64(len(s)))
	depth, inString := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > maxDepth {
				g.throw(g.rangeError, "JSON.parse: text nested more than %d levels deep", maxDepth)
			}
		case c == ']' || c == '}':
			depth--
		}
	}
}

// callable returns the function obj[name].
func (g *guard) callable(obj *goja.Object, name string) goja.Callable {
	f, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		panic(fmt.Sprintf("script sandbox: %s is not a function", name))
	}
	return f
}

// wrap replaces the method obj[name] with one that runs check first, with
// the same this and arguments. check throws by panicking with a JavaScript
// error.
func (g *guard) wrap(obj *goja.Object, name string, check func(goja.FunctionCall)) {
	g.define(obj, name, g.wrapped(obj.Get(name), name, check))
}

func (g *guard) wrapped(v goja.Value, name string, check func(goja.FunctionCall)) goja.Value {
	orig, ok := goja.AssertFunction(v)
	if !ok {
		panic(fmt.Sprintf("script sandbox: %s is not a function", name))
	}
	length := 0
	if o, ok := v.(*goja.Object); ok {
		length = int(o.Get("length").ToInteger())
	}
	return g.fn(name, length, func(call goja.FunctionCall) goja.Value {
		check(call)
		r, err := orig(call.This, call.Arguments...)
		if err != nil {
			panic(err) // rethrows the JavaScript exception or interrupt
		}
		return r
	})
}

// fn makes a native function with a JavaScript name and length.
func (g *guard) fn(name string, length int, f func(goja.FunctionCall) goja.Value) goja.Value {
	o := g.vm.ToValue(f).(*goja.Object)
	_ = o.DefineDataProperty("name", g.vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = o.DefineDataProperty("length", g.vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return o
}

// define sets a builtin property: writable, configurable, not enumerable.
func (g *guard) define(obj *goja.Object, name string, v goja.Value) {
	_ = obj.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// throw throws a new JavaScript error of the given constructor. A nil
// constructor means RangeError, looked up only now: for scripts that need
// no guards, newGuard skips building the error constructors, which is a
// good part of a run's setup. (Such a script may have replaced RangeError;
// then the error is a TypeError.)
func (g *guard) throw(ctor *goja.Object, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ctor == nil {
		o, ok := g.vm.GlobalObject().Get("RangeError").(*goja.Object)
		if !ok {
			panic(g.vm.NewTypeError(msg))
		}
		if _, ok := goja.AssertConstructor(o); !ok {
			panic(g.vm.NewTypeError(msg))
		}
		ctor = o
	}
	e, err := g.vm.New(ctor, g.vm.ToValue(msg))
	if err != nil {
		panic(err)
	}
	panic(e)
}
