package expr

import "testing"

// TestBudgetOnlyWhereNeeded: plain conditions evaluate without the budget
// (and the copy of the variables it costs); loops, builtins, built values
// and "+" get one.
func TestBudgetOnlyWhereNeeded(t *testing.T) {
	for src, want := range map[string]bool{
		`amount > 1000`:                     false,
		`status in ["new", "open"]`:         false,
		`applicant.address.city == 'Paris'`: false,
		`amount + fee > 1000`:               true,
		`len(items) > 0`:                    true,
		`any(items, .price > 10)`:           true,
		`[amount, fee]`:                     true,
		`{"a": amount}`:                     true,
	} {
		if got := MustCompile(src).budgeted; got != want {
			t.Errorf("Compile(%s).budgeted = %v, want %v", src, got, want)
		}
	}
}
