package hostile

// payload is one hostile script and the cause its incident must name.
type payload struct {
	name   string
	class  string // memory, cpu, recursion, prototype, host, expression
	script string // JavaScript, or for class expression a gateway condition
	cause  string // regular expression the incident message must match
}

// Causes, as the incident messages name them.
const (
	limitCause     = `script exceeded its (memory|time) limit|sandbox limit|Invalid (string|array) length`
	timeCause      = `script exceeded its time limit`
	stackCause     = `Maximum call stack size exceeded`
	nestingCause   = `nested more than 1000 levels|` + stackCause
	codeGenCause   = `EvalError: Code generation from strings disallowed`
	undefinedCause = `ReferenceError: \w+ is not defined`
	exprCause      = `memory budget exceeded|evaluation budget|exceeds the limit|larger than the limit`
)

var payloads = []payload{
	// Memory bombs: each must stop at a limit, never take the server's
	// memory.
	{"string doubling loop", "memory", "var s = 'x'; while (true) s += s", limitCause},
	{"string doubling, 40 times", "memory", "var s = 'ab'; for (var i = 0; i < 40; i++) s = s + s; s.length", limitCause},
	{"global regexp replace with a callback", "memory", "var s = 'x'.repeat(1 << 22); while (true) s = s.replace(/x/g, () => 'xx')", limitCause},
	{"concat.apply over large strings", "memory", "var s = 'x'.repeat(1 << 22), a = []; for (var i = 0; i < 64; i++) a.push(s); ''.concat.apply('', a).length", limitCause},
	{"flat of a deeply repeated array", "memory", "var a = [1]; for (var i = 0; i < 40; i++) a = [a, a]; a.flat(Infinity).length", limitCause},
	{"BigInt shift folded at compile time", "memory", "x = (1n << 10000000000n) > 0n", limitCause},
	{"array of objects without end", "memory", "var a = []; while (true) a.push({n: a.length, s: 'abcdefgh'})", limitCause},
	{"repeat to a gigabyte", "memory", "x = 'x'.repeat(2 ** 30)", limitCause},
	{"padStart to a gigabyte", "memory", "x = ''.padStart(2 ** 30, 'x')", limitCause},
	{"fill a sparse giant array", "memory", "x = new Array(2 ** 32 - 1).fill(0).length", limitCause},
	{"Array.from a giant length", "memory", "x = Array.from({length: 1e9}).length", limitCause},
	{"spread a giant array into a call", "memory", "x = Math.max(...new Array(1e8))", limitCause},
	{"join a giant array", "memory", "x = new Array(1e7).join('xxxxxxxxxx').length", limitCause},
	{"stringify a doubled object", "memory", "var o = {a: 'x'.repeat(1000)}; for (var i = 0; i < 30; i++) o = {l: o, r: o}; x = JSON.stringify(o).length", limitCause},
	{"object with endless keys", "memory", "var o = {}; for (var i = 0; ; i++) o['k' + i] = i", limitCause},
	{"Map without end", "memory", "var m = new Map(); for (var i = 0; ; i++) m.set(i, 'v' + i)", limitCause},
	{"split a huge string into characters", "memory", "x = 'x'.repeat(1 << 24).split('').length", limitCause},
	{"sort two million numbers", "memory", "var a = []; for (var i = 0; i < 2e6; i++) a.push(Math.random()); a.sort(); x = a.length", limitCause},

	// CPU bombs: each must stop at the time limit.
	{"empty infinite loop", "cpu", "while (true) {}", timeCause},
	{"loop that swallows its interrupt", "cpu", "for (;;) { try { while (true) {} } catch (e) {} finally { continue } }", timeCause},
	{"huge BigInt power", "cpu", "var b = 3n; x = (b ** 100000000n) > 0n", limitCause},
	{"BigInt power folded at compile time", "cpu", "x = (3n ** 100000000n) > 0n", limitCause},
	{"concat of a spreadable object of length 2^32-1", "cpu", "var o = {length: 2 ** 32 - 1}; o[Symbol.isConcatSpreadable] = true; x = [].concat(o).length", limitCause},
	{"catastrophic backtracking", "cpu", "x = /^(a+)+\\1$/.test('a'.repeat(40) + 'b')", `regular expression match stopped|` + limitCause},
	{"endless generator", "cpu", "function* g() { while (true) yield 1 } for (const v of g()) {}", limitCause},
	{"endless promise chain", "cpu", "Promise.resolve().then(function f() { return Promise.resolve().then(f) })", limitCause},
	{"comparator that never returns", "cpu", "x = [3, 2, 1].sort(() => { while (true) {} })", timeCause},
	{"getter that never returns", "cpu", "var o = {get x() { while (true) {} }}; y = o.x", timeCause},
	{"Proxy trap that never returns", "cpu", "y = new Proxy({}, {get() { while (true) {} }}).x", timeCause},
	{"toString that never returns", "cpu", "var o = {toString() { while (true) {} }}; y = '' + o", timeCause},

	// Deep recursion: a RangeError, never a Go stack overflow.
	{"unbounded recursion", "recursion", "function f() { return f() } f()", stackCause},
	{"mutual recursion", "recursion", "var a = () => b(), b = () => a(); a()", stackCause},
	{"recursion that catches its RangeError", "recursion", "function f(n) { try { f(n + 1) } catch (e) { f(n + 1) } } f(0)", limitCause + `|` + stackCause},
	{"Proxy get that recurses", "recursion", "var p = new Proxy({}, {get: (t, k, r) => r[k]}); x = p.x", stackCause},
	{"JSON.parse of a million brackets", "recursion", "x = JSON.parse('['.repeat(1e6) + ']'.repeat(1e6))", nestingCause + `|` + limitCause}, // building the 2 MB of brackets may reach the memory limit first
	{"toString of a million nested arrays", "recursion", "var a = []; for (var i = 0; i < 1e6; i++) a = [a]; x = String(a)", nestingCause + `|` + limitCause},

	// Prototype tricks that try to escape or to poison the sandbox.
	{"constructor.constructor", "prototype", "x = this.constructor.constructor('return process')()", codeGenCause},
	{"function constructor of a plain function", "prototype", "x = (function () {}).constructor('return this')()", codeGenCause},
	{"async function constructor", "prototype", "x = Object.getPrototypeOf(async function () {}).constructor('return 1')", codeGenCause},
	{"generator function constructor", "prototype", "x = Object.getPrototypeOf(function* () {}).constructor('yield 1')", codeGenCause},
	{"Reflect.construct(Function)", "prototype", "x = Reflect.construct(Function, ['return 1'])", codeGenCause},
	{"poisoned Object.prototype.toString", "prototype", "Object.prototype.toString = function () { while (true) {} }; y = {} + ''", timeCause},
	{"poisoned array iterator", "prototype", "Array.prototype[Symbol.iterator] = function* () { while (true) yield 1 }; y = [...[1]]", limitCause},
	{"prototype of Object.prototype", "prototype", "Object.prototype.__proto__ = {}", `TypeError`},
	{"global object without prototype", "prototype", "Object.setPrototypeOf(globalThis, null); require('fs')", undefinedCause},

	// Host access: there is none.
	{"require", "host", "require('child_process').execSync('id')", undefinedCause},
	{"process", "host", "process.exit(1)", undefinedCause},
	{"globalThis.process", "host", "globalThis.process.env.HOME", `TypeError: Cannot read property 'env' of undefined`},
	{"fetch", "host", "fetch('http://127.0.0.1:1/')", undefinedCause},
	{"XMLHttpRequest", "host", "new XMLHttpRequest()", undefinedCause},
	{"setTimeout", "host", "setTimeout(() => {}, 10)", undefinedCause},
	{"setInterval", "host", "setInterval(() => {}, 10)", undefinedCause},
	{"console", "host", "console.log('hello')", undefinedCause},
	{"eval", "host", "eval('1 + 1')", codeGenCause},
	{"indirect eval", "host", "(0, globalThis.eval)('1 + 1')", codeGenCause},
	{"Function", "host", "new Function('return 1')()", codeGenCause},
	{"dynamic import", "host", "import('fs')", `import|not supported|SyntaxError`},
	{"Atomics and SharedArrayBuffer", "host", "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)", undefinedCause},
	{"WebAssembly", "host", "WebAssembly.compile(new Uint8Array([0, 97, 115, 109]))", undefinedCause},
	{"typed arrays", "host", "new Uint8Array(1e10)", undefinedCause},
	{"ArrayBuffer", "host", "new ArrayBuffer(2 ** 31)", undefinedCause},
	{"module.exports", "host", "module.exports = {}", undefinedCause},
	{"Java interop (Nashorn, Rhino)", "host", "java.lang.System.exit(0)", undefinedCause},
	{"Deno", "host", "Deno.readTextFile('/etc/passwd')", undefinedCause},

	// Expressions (gateway conditions) are bounded too.
	{"expression: repeat a trillion", "expression", `len(repeat("x", 1000000000000)) > 0`, exprCause},
	{"expression: range of a trillion", "expression", `len(1..1000000000000) > 0`, exprCause},
	{"expression: string doubling", "expression", `let a = repeat("x", 1000); let b = a + a; let c = b + b; let d = c + c; let e = d + d; let f = e + e; let g = f + f; let h = g + g; let i = h + h; let j = i + i; let k = j + j; len(k + k) > 0`, exprCause},
	{"expression: nested loops", "expression", `let a = 1..1000; all(a, all(a, all(a, true)))`, exprCause},
}
