package feel

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// FuzzFEEL parses arbitrary input as an expression and as unary tests and
// evaluates what parses over a small variable set. Nothing may panic or
// hang; a parse error must be an *Error with a position inside the input.
// The seed corpus is in testdata/fuzz/FuzzFEEL.
func FuzzFEEL(f *testing.F) {
	for _, tc := range exprCases {
		f.Add(tc.src)
	}
	vars := testVars()
	f.Fuzz(func(t *testing.T, src string) {
		hang := time.AfterFunc(20*time.Second, func() { panic(fmt.Sprintf("input %q hangs", src)) })
		defer hang.Stop()
		x, err := Compile(src)
		checkParseError(t, src, err)
		if err == nil {
			_, _ = x.Eval(vars, WithNow(testNow))
		}
		u, err := CompileUnaryTests(src)
		checkParseError(t, src, err)
		if err == nil {
			_, _ = u.Eval(vars["amount"], vars, WithNow(testNow))
		}
	})
}

func checkParseError(t *testing.T, src string, err error) {
	if err == nil {
		return
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("%q: error %v is not an *Error", src, err)
	}
	if fe.Line < 1 || fe.Column < 1 || fe.Line > 1+len(src) {
		t.Fatalf("%q: error %v has a position outside the input", src, err)
	}
}
