package feel

import (
	"bytes"
	"encoding/json"
	"strconv"
)

func defJSON() {
	def("to json", []string{"value"}, func(e *env, a []any) any {
		var b bytes.Buffer
		writeJSON(&b, a[0])
		if !concatLimit(e, b.Len()) {
			return nil
		}
		return b.String()
	})
	def("from json", []string{"value"}, func(e *env, a []any) any {
		s, ok := str(a[0])
		if !ok || !concatLimit(e, len(s)) {
			return nil
		}
		d := json.NewDecoder(bytes.NewReader([]byte(s)))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil || d.More() {
			return nil
		}
		return toValue(v) // strings stay strings; object keys come sorted
	})
}

// writeJSON writes a FEEL value as JSON: contexts in entry order, temporal
// values and ranges as strings.
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case Decimal:
		b.WriteString(x.String())
	case string:
		q, _ := json.Marshal(x)
		b.Write(q)
	case []any:
		b.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, el)
		}
		b.WriteByte(']')
	case *Context:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			q, _ := json.Marshal(k)
			b.Write(q)
			b.WriteByte(':')
			writeJSON(b, x.vals[k])
		}
		b.WriteByte('}')
	case DateTime:
		s := x.String()
		if x.Zone != "" { // java.time notation, as Camunda writes it
			_, off := x.T.Zone()
			s = s[:len(s)-len(x.Zone)-1] + offsetString(off) + "[" + x.Zone + "]"
		}
		q, _ := json.Marshal(s)
		b.Write(q)
	default:
		q, _ := json.Marshal(Format(v))
		b.Write(q)
	}
}
