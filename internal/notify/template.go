package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	texttemplate "text/template"
)

// Template file extensions. A named template NAME consists of up to three
// files: NAME.subject (text/template, the subject line), NAME.txt
// (text/template, the plain-text body) and NAME.html (html/template, the
// HTML body). Files whose base name starts with "_" are partials: each
// ".txt" partial can be included by every text template and subject, each
// ".html" partial by every HTML template, with {{template "_name" .}}.
const (
	ExtSubject = ".subject"
	ExtText    = ".txt"
	ExtHTML    = ".html"
)

// Templates is a set of named notification templates. It is safe for
// concurrent use once loaded.
type Templates struct {
	textBase *texttemplate.Template
	htmlBase *htmltemplate.Template
	byName   map[string]*named
}

// named is one named template's parts; nil when absent.
type named struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// funcs are the functions templates may call besides the built-ins.
var funcs = map[string]any{
	// json writes a value as JSON: {{json .order}}.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// default returns v, or def when v is missing, nil, false, 0 or "":
	// {{default "customer" (index . "name")}}.
	"default": func(def, v any) any {
		if v == nil {
			return def
		}
		if rv := reflect.ValueOf(v); rv.IsZero() {
			return def
		}
		return v
	},
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"trim":  strings.TrimSpace,
}

// missingKey makes a reference to an absent variable an error (as in
// expressions) instead of "<no value>". Use index to probe optional ones:
// {{with index . "discount"}}...{{end}}.
const missingKey = "missingkey=error"

// LoadTemplates reads the templates in fsys (for example
// os.DirFS("templates")), walking subdirectories: "loan/approved.txt" is
// the text part of template "loan/approved". Files with other extensions
// are ignored.
func LoadTemplates(fsys fs.FS) (*Templates, error) {
	files := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch path.Ext(p) {
		case ExtSubject, ExtText, ExtHTML:
		default:
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: load templates: %w", err)
	}
	return ParseTemplates(files)
}

// ParseTemplates builds templates from file names ("welcome.txt",
// "welcome.html", "welcome.subject", "_footer.txt") to their contents.
func ParseTemplates(files map[string]string) (*Templates, error) {
	t := &Templates{
		textBase: texttemplate.New("").Funcs(funcs).Option(missingKey),
		htmlBase: htmltemplate.New("").Funcs(funcs).Option(missingKey),
		byName:   map[string]*named{},
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)

	// Partials first, so every template can include them.
	for _, file := range names {
		ext := path.Ext(file)
		base := strings.TrimSuffix(path.Base(file), ext)
		if !strings.HasPrefix(base, "_") {
			continue
		}
		var err error
		switch ext {
		case ExtText, ExtSubject:
			_, err = t.textBase.New(base).Parse(files[file])
		case ExtHTML:
			_, err = t.htmlBase.New(base).Parse(files[file])
		default:
			err = fmt.Errorf("unknown extension %q", ext)
		}
		if err != nil {
			return nil, fmt.Errorf("notify: template %s: %w", file, err)
		}
	}
	for _, file := range names {
		ext := path.Ext(file)
		if strings.HasPrefix(path.Base(file), "_") {
			continue
		}
		name := strings.TrimSuffix(file, ext)
		n := t.byName[name]
		if n == nil {
			n = &named{}
			t.byName[name] = n
		}
		var err error
		switch ext {
		case ExtSubject:
			n.subject, err = t.parseText(file, files[file])
		case ExtText:
			n.text, err = t.parseText(file, files[file])
		case ExtHTML:
			n.html, err = t.parseHTML(file, files[file])
		default:
			err = fmt.Errorf("unknown extension %q (want %s, %s or %s)", ext, ExtSubject, ExtText, ExtHTML)
		}
		if err != nil {
			return nil, fmt.Errorf("notify: template %s: %w", file, err)
		}
	}
	for name, n := range t.byName {
		if n.text == nil && n.html == nil {
			return nil, fmt.Errorf("notify: template %q has a subject but no %s or %s body", name, ExtText, ExtHTML)
		}
	}
	return t, nil
}

// parseText parses src as a text template that can include the partials.
// t may be nil (no named templates: inline templates only).
func (t *Templates) parseText(name, src string) (*texttemplate.Template, error) {
	if t == nil {
		return texttemplate.New(name).Funcs(funcs).Option(missingKey).Parse(src)
	}
	c, err := t.textBase.Clone()
	if err != nil {
		return nil, err
	}
	return c.New(name).Parse(src)
}

func (t *Templates) parseHTML(name, src string) (*htmltemplate.Template, error) {
	c, err := t.htmlBase.Clone()
	if err != nil {
		return nil, err
	}
	return c.New(name).Parse(src)
}

// Names returns the template names, sorted.
func (t *Templates) Names() []string {
	if t == nil {
		return nil
	}
	out := make([]string, 0, len(t.byName))
	for name := range t.byName {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Has reports whether a template of that name exists.
func (t *Templates) Has(name string) bool {
	return t != nil && t.byName[name] != nil
}

// parts is what rendering a template produced; a part is "" when the
// template lacks it.
type parts struct {
	subject, text, html string
	hasText, hasHTML    bool
}

// execute renders the named template over data.
func (t *Templates) execute(name string, data any) (parts, error) {
	var p parts
	n := t.lookup(name)
	if n == nil {
		return p, fmt.Errorf("template %q does not exist", name)
	}
	var err error
	if n.subject != nil {
		if p.subject, err = execText(n.subject, data); err != nil {
			return p, err
		}
	}
	if n.text != nil {
		p.hasText = true
		if p.text, err = execText(n.text, data); err != nil {
			return p, err
		}
	}
	if n.html != nil {
		p.hasHTML = true
		var b bytes.Buffer
		if err := n.html.Execute(&b, data); err != nil {
			return p, err
		}
		p.html = b.String()
	}
	return p, nil
}

func (t *Templates) lookup(name string) *named {
	if t == nil {
		return nil
	}
	return t.byName[name]
}

func execText(tt *texttemplate.Template, data any) (string, error) {
	var b bytes.Buffer
	if err := tt.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// InstanceInfo is visible to templates as .Instance.
type InstanceInfo struct {
	ID           string
	DefinitionID string
	NodeID       string // the send task, or the task or node an event concerns
}

// templateData is what templates see: the instance variables, plus
// .Event and .Instance (which hide variables of those names).
func templateData(vars map[string]any, event string, inst InstanceInfo) map[string]any {
	d := make(map[string]any, len(vars)+2)
	for k, v := range vars {
		d[k] = v
	}
	d["Event"] = event
	d["Instance"] = inst
	return d
}
