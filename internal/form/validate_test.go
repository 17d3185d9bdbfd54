package form_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/form"
)

// mustParse parses a form, or a list of components written as the body of
// a form's components array.
func mustParse(t *testing.T, src string) *form.Form {
	t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(src), `{"type": "default"`) {
		src = `{"type": "default", "components": [` + src + `]}`
	}
	f, err := form.Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse(%s) = %v", src, err)
	}
	return f
}

type m = map[string]any

// TestValidate covers every field type and every rule, valid and invalid.
// want lists FieldError.Error() strings, in order.
func TestValidate(t *testing.T) {
	t.Parallel()
	const (
		text      = `{"key": "a", "type": "textfield", "label": "A"}`
		required  = `{"key": "a", "type": "textfield", "validate": {"required": true}}`
		minLen    = `{"key": "a", "type": "textfield", "validate": {"minLength": 3}}`
		maxLen    = `{"key": "a", "type": "textfield", "validate": {"maxLength": "3"}}`
		pattern   = `{"key": "a", "type": "textfield", "validate": {"pattern": "^[A-Z]{3}$"}}`
		anywhere  = `{"key": "a", "type": "textfield", "validate": {"pattern": "[0-9]"}}`
		uEscape   = `{"key": "a", "type": "textfield", "validate": {"pattern": "^\\u0041+\\u{42}$"}}`
		lookahead = `{"key": "a", "type": "textfield", "validate": {"pattern": "^(?=.*[0-9]).+$"}}`
		email     = `{"key": "a", "type": "textfield", "validate": {"validationType": "email"}}`
		phone     = `{"key": "a", "type": "textfield", "validate": {"validationType": "phone"}}`
		custom    = `{"key": "a", "type": "textfield", "validate": {"validationType": "custom", "pattern": "^x"}}`
		area      = `{"key": "a", "type": "textarea", "validate": {"maxLength": 5, "required": true}}`

		number    = `{"key": "n", "type": "number"}`
		numReq    = `{"key": "n", "type": "number", "validate": {"required": true}}`
		numString = `{"key": "n", "type": "number", "serializeToString": true}`
		minMax    = `{"key": "n", "type": "number", "validate": {"min": 10, "max": "20"}}`
		minExpr   = `{"key": "n", "type": "number", "validate": {"min": "=limit"}}`
		whole     = `{"key": "n", "type": "number", "decimalDigits": 0}`
		twoDigits = `{"key": "n", "type": "number", "decimalDigits": 2}`
		halves    = `{"key": "n", "type": "number", "increment": 0.5}`
		cents     = `{"key": "n", "type": "number", "increment": "0.01"}`

		check    = `{"key": "c", "type": "checkbox"}`
		checkReq = `{"key": "c", "type": "checkbox", "validate": {"required": true}}`

		checklist = `{"key": "l", "type": "checklist", "values": [{"label": "Passport", "value": "passport"}, {"label": "Payslip", "value": "payslip"}]}`
		listReq   = `{"key": "l", "type": "checklist", "validate": {"required": true}, "values": [{"label": "P", "value": "passport"}]}`
		tagsKey   = `{"key": "t", "type": "taglist", "valuesKey": "tagOptions"}`
		tagsExpr  = `{"key": "t", "type": "taglist", "valuesExpression": "=availableTags"}`
		tagsFree  = `{"key": "t", "type": "taglist"}`

		radio     = `{"key": "r", "type": "radio", "values": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]}`
		radioNum  = `{"key": "r", "type": "radio", "values": [{"label": "One", "value": 1}]}`
		selectReq = `{"key": "s", "type": "select", "validate": {"required": true}, "values": [{"label": "Low", "value": "low"}]}`
		selectKey = `{"key": "s", "type": "select", "valuesKey": "levels.all"}`
		selectNil = `{"key": "s", "type": "select", "values": []}`

		date     = `{"key": "d", "type": "datetime", "subtype": "date", "dateLabel": "Start"}`
		dateDflt = `{"key": "d", "type": "datetime"}`
		clock    = `{"key": "d", "type": "datetime", "subtype": "time"}`
		stamp    = `{"key": "d", "type": "datetime", "subtype": "datetime"}`

		expression = `{"key": "x", "type": "expression", "expression": "=a + 1"}`
		filepicker = `{"key": "x", "type": "filepicker"}`
		future     = `{"key": "x", "type": "rating"}`

		group    = `{"type": "group", "path": "applicant", "components": [{"key": "name", "type": "textfield", "validate": {"required": true}}]}`
		flat     = `{"type": "group", "components": [{"key": "name", "type": "textfield"}]}`
		dotted   = `{"key": "applicant.address.city", "type": "textfield"}`
		deep     = `{"type": "group", "path": "a", "components": [{"type": "group", "path": "b.c", "components": [{"key": "d", "type": "number"}]}]}`
		list     = `{"type": "dynamiclist", "path": "guarantors", "label": "Guarantors", "components": [{"key": "name", "type": "textfield", "validate": {"required": true}}, {"key": "id", "type": "textfield", "readonly": true}]}`
		hidden   = `{"key": "a", "type": "textfield", "validate": {"required": true}, "conditional": {"hide": "=amount < 10"}}`
		hiddenGr = `{"type": "group", "conditional": {"hide": "=true"}, "components": [{"key": "a", "type": "number", "validate": {"required": true}}]}`

		readonly = `{"key": "a", "type": "textfield", "readonly": true, "defaultValue": "def"}`
		roNumber = `{"key": "n", "type": "number", "readonly": true}`
		roList   = `{"key": "l", "type": "taglist", "readonly": true}`
		disabled = `{"key": "a", "type": "textfield", "disabled": true, "validate": {"required": true}}`
		roExpr   = `{"key": "a", "type": "textfield", "readonly": "=status = \"done\""}`
		roGroup  = `{"type": "group", "path": "g", "readonly": true, "components": [{"key": "a", "type": "textfield"}]}`
		roCheck  = `{"key": "c", "type": "checkbox", "readonly": true}`
		roItems  = `{"type": "dynamiclist", "path": "l", "readonly": true, "components": [{"key": "x", "type": "textfield"}]}`

		button = `{"key": "submit", "type": "button", "action": "submit"}, {"type": "text", "text": "hi"}`
	)
	tests := []struct {
		name string
		form string
		sub  m
		cur  m
		want []string
	}{
		// textfield
		{"textfield ok", text, m{"a": "x"}, nil, nil},
		{"textfield empty", text, m{"a": ""}, nil, nil},
		{"textfield null", text, m{"a": nil}, nil, nil},
		{"textfield absent", text, m{}, nil, nil},
		{"textfield number", text, m{"a": 1.0}, nil, []string{"a: must be text, not a number"}},
		{"textfield list", text, m{"a": []any{"x"}}, nil, []string{"a: must be text, not a list"}},
		{"required ok", required, m{"a": "x"}, nil, nil},
		{"required absent", required, m{}, nil, []string{"a: is required"}},
		{"required empty", required, m{"a": ""}, nil, []string{"a: is required"}},
		{"required null", required, m{"a": nil}, nil, []string{"a: is required"}},
		{"minLength ok", minLen, m{"a": "abc"}, nil, nil},
		{"minLength counts characters", minLen, m{"a": "héé"}, nil, nil},
		{"minLength short", minLen, m{"a": "ab"}, nil, []string{"a: must be at least 3 characters long"}},
		{"minLength trims", minLen, m{"a": "  ab  "}, nil, []string{"a: must be at least 3 characters long"}},
		{"maxLength ok", maxLen, m{"a": "abc  "}, nil, nil},
		{"maxLength long", maxLen, m{"a": "abcd"}, nil, []string{"a: must be at most 3 characters long"}},
		{"pattern ok", pattern, m{"a": "ABC"}, nil, nil},
		{"pattern bad", pattern, m{"a": "abc"}, nil, []string{"a: must match the pattern ^[A-Z]{3}$"}},
		{"pattern matches anywhere", anywhere, m{"a": "a1b"}, nil, nil},
		{"pattern anywhere bad", anywhere, m{"a": "ab"}, nil, []string{"a: must match the pattern [0-9]"}},
		{"pattern unicode escapes", uEscape, m{"a": "AAB"}, nil, nil},
		{"pattern unicode escapes bad", uEscape, m{"a": "AAC"}, nil, []string{`a: must match the pattern ^\u0041+\u{42}$`}},
		{"pattern unsupported empty", lookahead, m{"a": ""}, nil, nil},
		{"pattern unsupported", lookahead, m{"a": "a1"}, nil, []string{
			`a: cannot be checked: the form's pattern "^(?=.*[0-9]).+$" is not supported on the server (invalid or unsupported Perl syntax: (?=)`}},
		{"email ok", email, m{"a": "ann.lee+x@mail.example.com"}, nil, nil},
		{"email no domain", email, m{"a": "ann@"}, nil, []string{"a: must be an email address, such as name@example.com"}},
		{"email no at", email, m{"a": "ann example.com"}, nil, []string{"a: must be an email address, such as name@example.com"}},
		{"phone ok", phone, m{"a": "+4930664040900"}, nil, nil},
		{"phone 00 and spaces", phone, m{"a": "0049 30 664040900"}, nil, nil},
		{"phone brackets and dashes", phone, m{"a": "+49 (30) 66404-0900"}, nil, nil},
		{"phone national", phone, m{"a": "030664040900"}, nil, []string{"a: must be an international phone number, such as +4930664040900"}},
		{"phone letters", phone, m{"a": "+49abc123456"}, nil, []string{"a: must be an international phone number, such as +4930664040900"}},
		{"phone short", phone, m{"a": "+1"}, nil, []string{"a: must be an international phone number, such as +4930664040900"}},
		{"custom uses pattern", custom, m{"a": "y"}, nil, []string{"a: must match the pattern ^x"}},
		{"textarea long", area, m{"a": "two\nlines"}, nil, []string{"a: must be at most 5 characters long"}},
		{"textarea short ok", area, m{"a": "a\nb"}, nil, nil},
		{"textarea bool", area, m{"a": true}, nil, []string{"a: must be text, not true/false"}},
		{"textarea required", area, m{}, nil, []string{"a: is required"}},

		// number
		{"number float", number, m{"n": 5.5}, nil, nil},
		{"number json.Number", number, m{"n": json.Number("5")}, nil, nil},
		{"number int", number, m{"n": 5}, nil, nil},
		{"number string", number, m{"n": "5"}, nil, []string{"n: must be a number, not a string"}},
		{"number bool", number, m{"n": true}, nil, []string{"n: must be a number, not true/false"}},
		{"number out of range", number, m{"n": json.Number("1e999")}, nil, []string{"n: is out of range"}},
		{"number empty", number, m{"n": nil}, nil, nil},
		{"number required zero", numReq, m{"n": 0.0}, nil, nil},
		{"number required null", numReq, m{"n": nil}, nil, []string{"n: is required"}},
		{"number serializeToString", numString, m{"n": "5.25"}, nil, nil},
		{"number serializeToString number", numString, m{"n": 5.25}, nil, nil},
		{"number serializeToString bad", numString, m{"n": "five"}, nil, []string{`n: must be a number, not "five"`}},
		{"min ok", minMax, m{"n": 10.0}, nil, nil},
		{"max ok", minMax, m{"n": 20.0}, nil, nil},
		{"min low", minMax, m{"n": 9.5}, nil, []string{"n: must be at least 10"}},
		{"max high", minMax, m{"n": 21}, nil, []string{"n: must be at most 20"}},
		{"min expression not checked", minExpr, m{"n": -1e9}, nil, nil},
		{"decimalDigits 0 ok", whole, m{"n": 2.0}, nil, nil},
		{"decimalDigits 0 bad", whole, m{"n": 1.5}, nil, []string{"n: must be a whole number"}},
		{"decimalDigits 2 ok", twoDigits, m{"n": 1.23}, nil, nil},
		{"decimalDigits 2 bad", twoDigits, m{"n": 1.234}, nil, []string{"n: must have at most 2 decimal digits"}},
		{"increment ok", halves, m{"n": 1.5}, nil, nil},
		{"increment bad", halves, m{"n": 1.25}, nil, []string{"n: must be a multiple of 0.5; the nearest valid values are 1 and 1.5"}},
		{"increment negative", halves, m{"n": -1.25}, nil, []string{"n: must be a multiple of 0.5; the nearest valid values are -1.5 and -1"}},
		{"increment exact decimals", cents, m{"n": 0.3}, nil, nil},
		{"increment cents bad", cents, m{"n": 0.305}, nil, []string{"n: must be a multiple of 0.01; the nearest valid values are 0.3 and 0.31"}},

		// checkbox
		{"checkbox true", check, m{"c": true}, nil, nil},
		{"checkbox false", check, m{"c": false}, nil, nil},
		{"checkbox string", check, m{"c": "yes"}, nil, []string{"c: must be true or false, not a string"}},
		{"checkbox required true", checkReq, m{"c": true}, nil, nil},
		{"checkbox required false", checkReq, m{"c": false}, nil, []string{"c: is required"}},
		{"checkbox required absent", checkReq, m{}, nil, []string{"c: is required"}},

		// checklist, taglist
		{"checklist ok", checklist, m{"l": []any{"passport", "payslip"}}, nil, nil},
		{"checklist Go slice", checklist, m{"l": []string{"passport"}}, nil, nil},
		{"checklist empty", checklist, m{"l": []any{}}, nil, nil},
		{"checklist not a list", checklist, m{"l": "passport"}, nil, []string{"l: must be a list, not a string"}},
		{"checklist unknown item", checklist, m{"l": []any{"passport", "x"}}, nil, []string{`l: item 2 ("x") is not one of "passport", "payslip"`}},
		{"checklist object item", checklist, m{"l": []any{m{"a": 1}}}, nil, []string{"l: item 1 must be a single value, not an object"}},
		{"checklist required empty", listReq, m{"l": []any{}}, nil, []string{"l: is required"}},
		{"checklist required ok", listReq, m{"l": []any{"passport"}}, nil, nil},
		{"taglist valuesKey ok", tagsKey, m{"t": []any{"a"}}, m{"tagOptions": []any{"a", "b"}}, nil},
		{"taglist valuesKey bad", tagsKey, m{"t": []any{"c"}}, m{"tagOptions": []any{"a", "b"}}, []string{`t: item 1 ("c") is not one of "a", "b"`}},
		{"taglist valuesKey objects", tagsKey, m{"t": []any{"b"}}, m{"tagOptions": []any{m{"label": "A", "value": "a"}}}, []string{`t: item 1 ("b") is not one of "a"`}},
		{"taglist valuesKey missing", tagsKey, m{"t": []any{"anything"}}, nil, nil},
		{"taglist valuesExpression", tagsExpr, m{"t": []any{"anything"}}, nil, nil},
		{"taglist no options", tagsFree, m{"t": []any{"x", "y"}}, nil, nil},
		{"taglist not a list", tagsFree, m{"t": true}, nil, []string{"t: must be a list, not true/false"}},

		// radio, select
		{"radio ok", radio, m{"r": "a"}, nil, nil},
		{"radio bad", radio, m{"r": "z"}, nil, []string{`r: must be one of "a", "b", not "z"`}},
		{"radio list", radio, m{"r": []any{"a"}}, nil, []string{"r: must be a single value, not a list"}},
		{"radio number options", radioNum, m{"r": json.Number("1")}, nil, nil},
		{"radio number options float", radioNum, m{"r": 1.0}, nil, nil},
		{"radio number options string", radioNum, m{"r": "1"}, nil, []string{`r: must be one of 1, not "1"`}},
		{"select required ok", selectReq, m{"s": "low"}, nil, nil},
		{"select required absent", selectReq, m{}, nil, []string{"s: is required"}},
		{"select bad", selectReq, m{"s": "mid"}, nil, []string{`s: must be one of "low", not "mid"`}},
		{"select valuesKey path", selectKey, m{"s": "hi"}, m{"levels": m{"all": []any{"lo", "hi"}}}, nil},
		{"select valuesKey path bad", selectKey, m{"s": "mid"}, m{"levels": m{"all": []any{"lo", "hi"}}}, []string{`s: must be one of "lo", "hi", not "mid"`}},
		{"select no options", selectNil, m{"s": "x"}, nil, []string{`s: must be one of the options (there are none), not "x"`}},

		// datetime
		{"date ok", date, m{"d": "2024-02-29"}, nil, nil},
		{"date no such day", date, m{"d": "2023-02-29"}, nil, []string{`d: must be a date (YYYY-MM-DD), not "2023-02-29"`}},
		{"date other format", date, m{"d": "15/01/2024"}, nil, []string{`d: must be a date (YYYY-MM-DD), not "15/01/2024"`}},
		{"date number", date, m{"d": 20240101.0}, nil, []string{"d: must be a date (YYYY-MM-DD), not a number"}},
		{"date is the default subtype", dateDflt, m{"d": "2024-01-15T10:00"}, nil, []string{`d: must be a date (YYYY-MM-DD), not "2024-01-15T10:00"`}},
		{"time ok", clock, m{"d": "09:30"}, nil, nil},
		{"time seconds", clock, m{"d": "09:30:15"}, nil, nil},
		{"time utc", clock, m{"d": "09:30Z"}, nil, nil},
		{"time offset", clock, m{"d": "09:30+02:00"}, nil, nil},
		{"time 24", clock, m{"d": "24:00"}, nil, []string{`d: must be a time (hh:mm, optionally with seconds and a UTC offset), not "24:00"`}},
		{"time one digit", clock, m{"d": "9:30"}, nil, []string{`d: must be a time (hh:mm, optionally with seconds and a UTC offset), not "9:30"`}},
		{"datetime ok", stamp, m{"d": "2024-01-15T09:30"}, nil, nil},
		{"datetime rfc3339", stamp, m{"d": "2024-01-15T09:30:00.123Z"}, nil, nil},
		{"datetime date only", stamp, m{"d": "2024-01-15"}, nil, []string{
			`d: must be a date and time (YYYY-MM-DDThh:mm, optionally with seconds and a UTC offset), not "2024-01-15"`}},
		{"datetime space", stamp, m{"d": "2024-01-15 09:30"}, nil, []string{
			`d: must be a date and time (YYYY-MM-DDThh:mm, optionally with seconds and a UTC offset), not "2024-01-15 09:30"`}},

		// inputs whose values are not checked
		{"expression", expression, m{"x": 123.0}, nil, nil},
		{"filepicker", filepicker, m{"x": []any{m{"documentId": "d1"}}}, nil, nil},
		{"unknown type with key", future, m{"x": 4.0}, nil, nil},

		// groups and paths
		{"group nested", group, m{"applicant": m{"name": "Ada"}}, nil, nil},
		{"group flat", group, m{"applicant.name": "Ada"}, nil, nil},
		{"group required", group, m{"applicant": m{}}, nil, []string{"applicant.name: is required"}},
		{"group unknown key", group, m{"applicant": m{"name": "Ada", "nmae": "x"}}, nil, []string{"applicant.nmae: is not a field of this form"}},
		{"group not an object", group, m{"applicant": "Ada"}, nil, []string{
			"applicant.name: is required",
			"applicant: must be an object holding the fields under applicant, not a string"}},
		{"group given twice", group, m{"applicant.name": "A", "applicant": m{"name": "B"}}, nil, []string{
			`applicant.name: is given twice, as "applicant.name" and as a nested object`}},
		{"group without path", flat, m{"name": "Ada"}, nil, nil},
		{"dotted key", dotted, m{"applicant": m{"address": m{"city": "Oslo"}}}, nil, nil},
		{"dotted key mixed", dotted, m{"applicant.address": m{"city": "Oslo"}}, nil, nil},
		{"dotted key wrong type", dotted, m{"applicant": m{"address.city": 1.0}}, nil, []string{"applicant.address.city: must be text, not a number"}},
		{"nested paths", deep, m{"a": m{"b": m{"c": m{"d": "x"}}}}, nil, []string{"a.b.c.d: must be a number, not a string"}},

		// dynamic lists
		{"list ok", list, m{"guarantors": []any{m{"name": "Bo"}, m{"name": "Cy"}}}, nil, nil},
		{"list empty", list, m{"guarantors": []any{}}, nil, nil},
		{"list item required", list, m{"guarantors": []any{m{"name": "Bo"}, m{}}}, nil, []string{"guarantors[1].name: is required"}},
		{"list not a list", list, m{"guarantors": "Bo"}, nil, []string{"guarantors: must be a list, not a string"}},
		{"list item not an object", list, m{"guarantors": []any{"Bo"}}, nil, []string{"guarantors[0]: must be an object, not a string"}},
		{"list item unknown key", list, m{"guarantors": []any{m{"name": "Bo", "age": 3.0}}}, nil, []string{"guarantors[0].age: is not a field of this form"}},
		{"list item readonly", list, m{"guarantors": []any{m{"name": "Bo", "id": "x"}}}, m{"guarantors": []any{m{"id": "g1"}}},
			[]string{"guarantors[0].id: is read-only and cannot be changed"}},
		{"list item readonly same", list, m{"guarantors": []any{m{"name": "Bo", "id": "g1"}}}, m{"guarantors": []any{m{"id": "g1"}}}, nil},

		// conditions are not evaluated: a field that may be hidden is never required
		{"hidden absent", hidden, m{}, nil, nil},
		{"hidden still checked", hidden, m{"a": 5.0}, nil, []string{"a: must be text, not a number"}},
		{"hidden group", hiddenGr, m{}, nil, nil},

		// read-only and disabled
		{"readonly same", readonly, m{"a": "x"}, m{"a": "x"}, nil},
		{"readonly absent", readonly, m{}, m{"a": "x"}, nil},
		{"readonly changed", readonly, m{"a": "y"}, m{"a": "x"}, []string{"a: is read-only and cannot be changed"}},
		{"readonly no value, empty", readonly, m{"a": ""}, nil, nil},
		{"readonly no value, default", readonly, m{"a": "def"}, nil, nil},
		{"readonly no value, other", readonly, m{"a": "zzz"}, nil, []string{"a: is read-only and cannot be changed"}},
		{"readonly number types", roNumber, m{"n": json.Number("5")}, m{"n": 5}, nil},
		{"readonly list same", roList, m{"l": []any{"a", "b"}}, m{"l": []string{"a", "b"}}, nil},
		{"readonly list reordered", roList, m{"l": []any{"b", "a"}}, m{"l": []any{"a", "b"}}, []string{"l: is read-only and cannot be changed"}},
		{"disabled changed", disabled, m{"a": "y"}, m{"a": "x"}, []string{"a: is disabled and cannot be changed"}},
		{"disabled not required", disabled, m{}, nil, nil},
		{"readonly expression is editable", roExpr, m{"a": "y"}, m{"a": "x"}, nil},
		{"readonly checkbox same", roCheck, m{"c": true}, m{"c": true}, nil},
		{"readonly checkbox changed", roCheck, m{"c": false}, m{"c": true}, []string{"c: is read-only and cannot be changed"}},
		{"readonly checkbox unset", roCheck, m{"c": false}, nil, nil},
		{"readonly list of objects same", roItems, m{"l": []any{m{"x": "a"}}}, m{"l": []any{m{"x": "a"}}}, nil},
		{"readonly list of objects changed", roItems, m{"l": []any{m{"x": "b"}}}, m{"l": []any{m{"x": "a"}}}, []string{"l: is read-only and cannot be changed"}},
		{"readonly list of objects longer", roItems, m{"l": []any{m{"x": "a"}, m{}}}, m{"l": []any{m{"x": "a"}}}, []string{"l: is read-only and cannot be changed"}},
		{"readonly group", roGroup, m{"g": m{"a": "y"}}, m{"g": m{"a": "x"}}, []string{"g.a: is read-only and cannot be changed"}},

		// keys that are not fields
		{"unknown key", text, m{"a": "x", "zzz": 1.0}, nil, []string{"zzz: is not a field of this form"}},
		{"unknown dotted key", text, m{"a.b": "x"}, nil, []string{"a.b: is not a field of this form"}},
		{"button and text have no values", button, m{"submit": true}, nil, []string{"submit: is not a field of this form"}},
		{"empty form", `{"type": "default", "components": []}`, m{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := mustParse(t, tt.form)
			var got []string
			for _, e := range f.Validate(tt.sub, tt.cur) {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate(%v, %v) =\n  %s\nwant\n  %s", tt.sub, tt.cur,
					strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestValidateEveryField reports every bad field, in form order, with its
// label, then keys that are not in the form.
func TestValidateEveryField(t *testing.T) {
	t.Parallel()
	f := mustParse(t, `
		{"key": "name", "type": "textfield", "label": "Name", "validate": {"required": true}},
		{"key": "start", "type": "datetime", "dateLabel": "Start date"},
		{"key": "amount", "type": "number", "validate": {"min": 1, "max": 10}, "decimalDigits": 0},
		{"key": "ok", "type": "checkbox", "label": "OK"}`)
	got := f.Validate(m{"zz": 1, "amount": 11.5, "start": "soon", "ok": true, "aa": 2}, nil)
	want := []form.FieldError{
		{Key: "name", Label: "Name", Message: "is required"},
		{Key: "start", Label: "Start date", Message: `must be a date (YYYY-MM-DD), not "soon"`},
		{Key: "amount", Label: "amount", Message: "must be a whole number"},
		{Key: "amount", Label: "amount", Message: "must be at most 10"},
		{Key: "aa", Message: "is not a field of this form"},
		{Key: "zz", Message: "is not a field of this form"},
	}
	if len(got) != len(want) {
		t.Fatalf("Validate = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("error %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSubmissionError(t *testing.T) {
	t.Parallel()
	err := error(&form.SubmissionError{Fields: []form.FieldError{
		{Key: "a", Message: "is required"}, {Key: "b", Message: "x"}, {Key: "c", Message: "y"}, {Key: "d", Message: "z"},
	}})
	if want := "invalid submission: a: is required; b: x; c: y; and 1 more"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, form.ErrInvalidSubmission) {
		t.Error("SubmissionError does not wrap ErrInvalidSubmission")
	}
}
