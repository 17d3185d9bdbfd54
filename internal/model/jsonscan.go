package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonIndex is what one pass over a workflow JSON document learns: where
// each value of the first levels starts, by JSON path ("nodes[2]",
// "nodes[2].script", "edges[0].condition").
type jsonIndex struct {
	data    []byte
	offsets map[string]int
}

// maxIndexDepth is how deep scanJSON records offsets: the definition, its
// nodes and edges, and their fields (nodes[2].http.url).
const maxIndexDepth = 4

// scanJSON walks data, which must be well-formed JSON, token by token. It
// refuses a key written twice in one object, at any depth (encoding/json
// would silently keep the last), and indexes value offsets for locating
// problems.
func scanJSON(file string, data []byte) (*jsonIndex, *Problem) {
	ix := &jsonIndex{data: data, offsets: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		path  string
		keys  map[string]int // object: key → offset of its first writing
		index int            // array: next element index
		key   string         // object: the key whose value comes next
		inObj bool
		await bool // object: the next token is a key
	}
	var stack []*frame
	ix.offsets[""] = skipSpace(data, 0)
	// valuePath names the value about to be read and records its offset.
	valuePath := func(off int) string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		var p string
		if f.inObj {
			p = f.key
			if f.path != "" {
				p = f.path + "." + f.key
			}
		} else {
			p = f.path + "[" + strconv.Itoa(f.index) + "]"
			f.index++
		}
		if len(stack) <= maxIndexDepth {
			if _, ok := ix.offsets[p]; !ok {
				ix.offsets[p] = off
			}
		}
		return p
	}
	for {
		off := skipSpace(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return ix, nil // syntax errors were reported by the decoder
		}
		if len(stack) > 0 {
			if f := stack[len(stack)-1]; f.inObj && f.await {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:len(stack)-1]
					if len(stack) == 0 {
						return ix, nil
					}
					if f := stack[len(stack)-1]; f.inObj {
						f.await = true
					}
					continue
				}
				key, _ := tok.(string)
				if first, dup := f.keys[key]; dup {
					line, col := ix.position(off)
					fline, fcol := ix.position(first)
					path := key
					if f.path != "" {
						path = f.path + "." + key
					}
					return ix, &Problem{File: file, Line: line, Column: col, Path: path,
						Message: fmt.Sprintf("duplicate key %q: it is already written at line %d, column %d (JSON objects must not repeat a key)", key, fline, fcol)}
				}
				f.keys[key], f.key, f.await = off, key, false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				p := valuePath(off)
				stack = append(stack, &frame{path: p, inObj: t == '{', await: t == '{', keys: map[string]int{}})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		default:
			valuePath(off)
		}
		if len(stack) > 0 {
			if f := stack[len(stack)-1]; f.inObj {
				f.await = true
			}
		} else {
			return ix, nil
		}
	}
}

func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// position converts a byte offset to a 1-based line and rune column.
func (ix *jsonIndex) position(off int) (line, col int) {
	off = min(max(off, 0), len(ix.data))
	start := bytes.LastIndexByte(ix.data[:off], '\n') + 1
	return bytes.Count(ix.data[:start], []byte("\n")) + 1, utf8.RuneCount(ix.data[start:off]) + 1
}

// at returns the position of the value at path, or of its nearest
// written parent ("nodes[2].http.url" → "nodes[2].http" → "nodes[2]"),
// or of the whole document for a member that is not written at all.
func (ix *jsonIndex) at(path string) (line, col int, ok bool) {
	for {
		if off, found := ix.offsets[path]; found {
			line, col = ix.position(off)
			return line, col, true
		}
		if path == "" {
			return 0, 0, false
		}
		path = path[:max(strings.LastIndexAny(path, ".["), 0)]
	}
}
