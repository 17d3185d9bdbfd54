package httpcall

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/model"
)

// renderURL renders an HTTP call's URL template so that no value can
// change where the call goes. The scheme, host and port come only from the
// template's literal text and {{env.NAME}} placeholders (model.
// SplitURLTemplate refuses anything else); every other placeholder value
// is escaped for its position: a path value is one escaped path segment
// ("../admin?x#" stays inside its segment), a query or fragment value is
// query-escaped. The final URL must then have the scheme, host and port
// that the template and env alone give.
func renderURL(src string, vars map[string]any) (*url.URL, error) {
	parts, err := model.SplitURLTemplate(src)
	if err != nil {
		return nil, fmt.Errorf("http.url: %w", err)
	}
	var all, base strings.Builder
	for _, p := range parts {
		text := p.Text
		if p.Placeholder {
			if text, err = placeholderValue(p, vars); err != nil {
				return nil, err
			}
		}
		if p.Pos == model.URLBase {
			base.WriteString(text)
		}
		all.WriteString(text)
	}
	want, err := url.Parse(base.String())
	if err != nil || (want.Scheme != "http" && want.Scheme != "https") || want.Host == "" {
		return nil, fmt.Errorf("http.url %s: its scheme, host and port come to %q, which is not an absolute http(s) URL (is an env variable it names unset?)", src, base.String())
	}
	u, err := url.Parse(all.String())
	if err != nil {
		return nil, fmt.Errorf("http.url: %q is not a URL: %v", all.String(), unwrapURLError(err))
	}
	if !strings.EqualFold(u.Scheme, want.Scheme) || !strings.EqualFold(u.Host, want.Host) || u.User.String() != want.User.String() {
		return nil, fmt.Errorf("http.url: the rendered URL goes to %s://%s, not to %s://%s as the definition and env say", u.Scheme, u.Host, want.Scheme, want.Host)
	}
	return u, nil
}

// placeholderValue evaluates one placeholder and escapes its value for its
// position. Env placeholders are the operator's and go in as written.
func placeholderValue(p model.URLPart, vars map[string]any) (string, error) {
	t, err := expr.CompileTemplate("{{" + p.Text + "}}")
	if err != nil {
		return "", fmt.Errorf("http.url: column %d: %w", p.Column, err)
	}
	v, err := t.Render(vars)
	if err != nil {
		return "", fmt.Errorf("http.url: placeholder {{%s}} at column %d: %w", strings.TrimSpace(p.Text), p.Column, err)
	}
	if p.Env {
		return v, nil
	}
	switch p.Pos {
	case model.URLPath:
		if v == "" || v == "." || v == ".." {
			return "", fmt.Errorf("http.url: placeholder {{%s}} at column %d is %q, which would change the path", strings.TrimSpace(p.Text), p.Column, v)
		}
		return url.PathEscape(v), nil
	default:
		return url.QueryEscape(v), nil
	}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
