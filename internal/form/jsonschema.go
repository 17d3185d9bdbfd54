package form

import "strings"

// JSONSchema describes the submissions f accepts as a JSON Schema object
// (draft 2020-12): each input component is a property under its key (a
// dotted key or a group's path nests objects), with its type, options,
// bounds and whether it is required. Read-only and disabled inputs and
// presentation components are left out. It is a description for callers
// such as MCP clients; Validate stays the authority on a submission.
func (f *Form) JSONSchema() map[string]any {
	root := objectSchema()
	schemaOf(root, f.Components, "")
	return root
}

func objectSchema() map[string]any {
	return map[string]any{"type": "object", "properties": map[string]any{}}
}

// schemaOf adds the inputs among cs to obj; prefix is the path of the
// enclosing group.
func schemaOf(obj map[string]any, cs []*Component, prefix string) {
	for _, c := range cs {
		path := joinPath(prefix, c.Path)
		switch {
		case c.Type == "dynamiclist" && c.Path != "":
			item := objectSchema()
			schemaOf(item, c.Components, "")
			parent, name := nest(obj, path)
			list := map[string]any{"type": "array", "items": item}
			if c.Label != "" {
				list["title"] = c.Label
			}
			parent["properties"].(map[string]any)[name] = list
			continue
		case len(c.Components) > 0:
			schemaOf(obj, c.Components, path)
			continue
		}
		if c.Key == "" || c.Readonly.Static() || c.Disabled.Static() {
			continue
		}
		p := propertyOf(c)
		if p == nil {
			continue
		}
		parent, name := nest(obj, joinPath(prefix, c.Key))
		parent["properties"].(map[string]any)[name] = p
		if c.Validate != nil && c.Validate.Required {
			req, _ := parent["required"].([]string)
			parent["required"] = append(req, name)
		}
	}
}

func joinPath(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "":
		return prefix
	}
	return prefix + "." + key
}

// nest returns the object schema that holds the last segment of a dotted
// path, creating the objects on the way, and that segment.
func nest(obj map[string]any, path string) (map[string]any, string) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		props := obj["properties"].(map[string]any)
		next, ok := props[p].(map[string]any)
		if !ok || next["type"] != "object" {
			next = objectSchema()
			props[p] = next
		}
		obj = next
	}
	return obj, parts[len(parts)-1]
}

// propertyOf is the schema of one input component, or nil for a
// component that submits nothing.
func propertyOf(c *Component) map[string]any {
	p := map[string]any{}
	if c.Label != "" {
		p["title"] = c.Label
	}
	if c.Description != "" {
		p["description"] = c.Description
	}
	enum := func() []any {
		var out []any
		for _, o := range c.Values {
			out = append(out, o.Value)
		}
		return out
	}
	v := c.Validate
	switch c.Type {
	case "textfield", "textarea", "datetime", "radio", "select":
		p["type"] = "string"
		if len(c.Values) > 0 {
			p["enum"] = enum()
			delete(p, "type")
		}
		if v != nil {
			if n, ok := v.MinLength.Float(); ok {
				p["minLength"] = n
			}
			if n, ok := v.MaxLength.Float(); ok {
				p["maxLength"] = n
			}
			if v.ValidationType == "email" {
				p["format"] = "email"
			}
		}
	case "number":
		p["type"] = "number"
		if c.SerializeToString {
			p["type"] = "string"
		}
		if v != nil {
			if n, ok := v.Min.Float(); ok {
				p["minimum"] = n
			}
			if n, ok := v.Max.Float(); ok {
				p["maximum"] = n
			}
		}
	case "checkbox":
		p["type"] = "boolean"
	case "checklist", "taglist":
		items := map[string]any{}
		if len(c.Values) > 0 {
			items["enum"] = enum()
		}
		p["type"], p["items"] = "array", items
	default:
		return nil
	}
	return p
}
