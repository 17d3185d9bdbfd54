package model

import (
	"encoding/json"
	"testing"
)

func TestKeyText(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"C-7", "C-7"},
		{42.0, "42"},
		{1500000.0, "1500000"}, // fmt.Sprint gives 1.5e+06
		{-3.0, "-3"},
		{2.5, "2.5"},
		{1e21, "1000000000000000000000"},
		{float32(8), "8"},
		{int64(9), "9"},
		{json.Number("12"), "12"},
		{true, "true"},
	} {
		if got := KeyText(c.in); got != c.want {
			t.Errorf("KeyText(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
