package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/auth"
)

func TestDev(t *testing.T) {
	t.Parallel()
	tokens, clear := auth.Dev()
	want := []struct {
		user   string
		role   auth.Role
		groups []string
	}{
		{"admin", auth.Admin, nil},
		{"manager", auth.Operator, []string{"managers"}},
		{"clerk", auth.Viewer, []string{"clerks"}},
		{"ann", auth.Viewer, []string{"managers"}},
	}
	if len(clear) != len(want) || tokens.Len() != len(want) {
		t.Fatalf("Dev() = %d tokens, %d clear, want %d", tokens.Len(), len(clear), len(want))
	}
	for i, w := range want {
		c := clear[i]
		if c.User != w.user || c.Role != w.role || !reflect.DeepEqual(c.Groups, w.groups) || !strings.HasPrefix(c.Token, "baton_") {
			t.Errorf("Dev()[%d] = %+v, want %+v", i, c, w)
		}
		id, err := tokens.Verify(context.Background(), c.Token)
		if err != nil || id.User != w.user || id.Role != w.role || !reflect.DeepEqual(id.Groups, w.groups) {
			t.Errorf("Verify(%s's token) = %+v, %v", w.user, id, err)
		}
	}
	_, again := auth.Dev()
	if again[0].Token == clear[0].Token {
		t.Error("Dev() returned the same token twice: tokens must be fresh")
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	tokens, clear := auth.Dev()
	ctx := context.Background()
	for name, tok := range map[string]string{
		"empty":          "",
		"unknown":        "baton_UNKNOWN",
		"prefix of one":  clear[0].Token[:len(clear[0].Token)-1],
		"another's hash": auth.HashToken(clear[0].Token),
		"too long":       strings.Repeat("x", 20000),
	} {
		if id, err := tokens.Verify(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Verify(%s) = %+v, %v; want ErrInvalidToken", name, id, err)
		}
	}
	// The identity returned is a copy.
	id, _ := tokens.Verify(ctx, clear[1].Token)
	id.Groups[0] = "admins"
	if again, _ := tokens.Verify(ctx, clear[1].Token); again.Groups[0] != "managers" {
		t.Errorf("changing a returned identity changed the verifier: %v", again.Groups)
	}
}

// TestTokensNeverInClear: what a verifier holds, prints or is built from
// has hashes, never the tokens.
func TestTokensNeverInClear(t *testing.T) {
	t.Parallel()
	tokens, clear := auth.Dev()
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(format, tokens)
		for _, c := range clear {
			if strings.Contains(s, c.Token) || strings.Contains(s, strings.TrimPrefix(c.Token, "baton_")) {
				t.Errorf("Sprintf(%q, tokens) shows %s's token: %s", format, c.User, s)
			}
		}
	}
	// Walk every field, exported or not, for a string or bytes equal to a token.
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				b := make([]byte, v.Len())
				for i := range b {
					b[i] = byte(v.Index(i).Uint())
				}
				for _, c := range clear {
					if strings.Contains(string(b), c.Token) {
						t.Errorf("the verifier holds %s's token in clear", c.User)
					}
				}
				return
			}
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.String:
			for _, c := range clear {
				if v.String() == c.Token {
					t.Errorf("the verifier holds %s's token in clear", c.User)
				}
			}
		}
	}
	walk(reflect.ValueOf(tokens))
	if got := tokens.String(); got != "4 tokens" {
		t.Errorf("String() = %q", got)
	}
	// A file cannot hold a token in clear.
	_, err := auth.ParseTokens([]byte(`[{"user": "ann", "role": "viewer", "token": "s3cret"}]`), "t.json")
	if err == nil || !strings.Contains(err.Error(), "must never be stored in clear") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ParseTokens with a clear token = %v", err)
	}
}

func TestHashToken(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("abc"))
	if got := auth.HashToken("abc"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("HashToken = %s", got)
	}
	if a, b := auth.NewToken(), auth.NewToken(); a == b || len(a) != len("baton_")+26 {
		t.Errorf("NewToken = %q, %q", a, b)
	}
}

func TestNewTokens(t *testing.T) {
	t.Parallel()
	h := auth.HashToken("t1")
	tokens, err := auth.NewTokens(auth.TokenEntry{User: "ann", Role: auth.Viewer, TokenSHA256: strings.ToUpper(h)})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := tokens.Verify(context.Background(), "t1"); err != nil || id.User != "ann" {
		t.Errorf("Verify = %+v, %v", id, err)
	}
	_, err = auth.NewTokens(
		auth.TokenEntry{User: "ann", Role: auth.Viewer, TokenSHA256: h},
		auth.TokenEntry{User: "", Role: auth.Viewer, TokenSHA256: h},
		auth.TokenEntry{User: "bob", TokenSHA256: h},
		auth.TokenEntry{User: "cy", Role: auth.Admin, TokenSHA256: "abc"},
		auth.TokenEntry{User: "di", Role: auth.Admin, TokenSHA256: h},
	)
	want := strings.Join([]string{
		`entry 2 (user ""): user: is missing`,
		`entry 3 (user "bob"): role: is missing: use viewer, operator or admin`,
		`entry 4 (user "cy"): tokenSha256: must be the 64 hex digits of the token's SHA-256, not 3 characters`,
		`entry 5 (user "di"): tokenSha256: is the same token as entry 1`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("NewTokens errors =\n%v\nwant\n%s", err, want)
	}
}

func TestParseTokens(t *testing.T) {
	t.Parallel()
	h1, h2 := auth.HashToken("one"), auth.HashToken("two")
	file := fmt.Sprintf(`[
  {"user": "ann", "groups": ["managers"], "role": "operator", "tokenSha256": %q},
  {"user": "bot", "role": "admin", "tokenSha256": %q}
]`, h1, h2)
	tokens, err := auth.ParseTokens([]byte(file), "tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	id, err := tokens.Verify(context.Background(), "one")
	if err != nil || id.User != "ann" || id.Role != auth.Operator || !id.InGroup("managers") {
		t.Errorf("Verify(one) = %+v, %v", id, err)
	}
	if _, err := auth.ParseTokens([]byte(" [ ] "), "empty.json"); err != nil {
		t.Errorf("ParseTokens([]) = %v", err)
	}
}

// TestParseTokensErrors: every problem is reported with file, line, entry
// and field.
func TestParseTokensErrors(t *testing.T) {
	t.Parallel()
	h := auth.HashToken("one")
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", ``, []string{"t.json:1: the file is empty: write a JSON list of tokens, [] for none"}},
		{"syntax", "[\n  {\"user\": \"ann\",\n  }\n]", []string{"t.json:3: invalid character '}' looking for beginning of object key string"}},
		{"not a list", `{"user": "ann"}`, []string{`t.json:1: must be a JSON list of tokens: [{"user": ..., "role": ..., "tokenSha256": ...}]`}},
		{"entry not an object", "[\n  \"ann\"\n]", []string{"t.json:2: entry 1: must be an object with user, groups, role and tokenSha256"}},
		{"missing fields", "[\n  {\"user\": \"ann\"}\n]", []string{`t.json:2: entry 1 (user "ann"): role: is missing`}},
		{"missing hash", "[\n  {\"user\": \"ann\", \"role\": \"admin\"}\n]", []string{`t.json:2: entry 1 (user "ann"): tokenSha256: is missing`}},
		{"unknown role", fmt.Sprintf("[\n  {\"user\": \"ann\",\n   \"role\": \"boss\",\n   \"tokenSha256\": %q}\n]", h), []string{
			`t.json:3: entry 1 (user "ann"): role: unknown role "boss": use viewer, operator or admin`}},
		{"short hash", "[\n  {\"user\": \"ann\", \"role\": \"viewer\",\n   \"tokenSha256\": \"abc\"}\n]", []string{
			`t.json:3: entry 1 (user "ann"): tokenSha256: must be the 64 hex digits of the token's SHA-256, not 3 characters`}},
		{"not hex", fmt.Sprintf("[{\"user\": \"ann\", \"role\": \"viewer\", \"tokenSha256\": %q}]", strings.Repeat("z", 64)), []string{
			`t.json:1: entry 1 (user "ann"): tokenSha256: must be the 64 hex digits of the token's SHA-256`}},
		{"clear token", "[\n  {\"user\": \"ann\", \"role\": \"viewer\",\n   \"token\": \"s3cret\"}\n]", []string{
			`t.json:3: entry 1 (user "ann"): token: a token must never be stored in clear: put its SHA-256 in tokenSha256 (see docs/auth.md)`}},
		{"unknown field", fmt.Sprintf("[{\"user\": \"ann\", \"role\": \"viewer\", \"tokenSha256\": %q, \"email\": \"a@x\"}]", h), []string{
			`t.json:1: entry 1 (user "ann"): email: unknown field; the fields are user, groups, role, tokenSha256`}},
		{"groups type", fmt.Sprintf("[{\"user\": \"ann\", \"role\": \"viewer\", \"tokenSha256\": %q, \"groups\": \"managers\"}]", h), []string{
			`t.json:1: entry 1 (user "ann"): groups: must be a list of group names, such as ["managers"]`}},
		{"user type", fmt.Sprintf("[{\"user\": 7, \"role\": \"viewer\", \"tokenSha256\": %q}]", h), []string{
			`t.json:1: entry 1: user: must be a string`}},
		{"user spaces", fmt.Sprintf("[{\"user\": \" ann\", \"role\": \"viewer\", \"tokenSha256\": %q}]", h), []string{
			`t.json:1: entry 1 (user " ann"): user: " ann" has spaces around it`}},
		{"field twice", fmt.Sprintf("[{\"user\": \"ann\", \"role\": \"viewer\", \"role\": \"admin\", \"tokenSha256\": %q}]", h), []string{
			`t.json:1: entry 1 (user "ann"): role: is written twice`}},
		{"same token twice", fmt.Sprintf("[\n  {\"user\": \"ann\", \"role\": \"viewer\", \"tokenSha256\": %q},\n  {\"user\": \"bob\", \"role\": \"admin\",\n   \"tokenSha256\": %q}\n]", h, strings.ToUpper(h)), []string{
			`t.json:4: entry 2 (user "bob"): tokenSha256: is the same token as entry 1 (line 2)`}},
		{"every problem", fmt.Sprintf("[\n  {\"user\": \"ann\", \"role\": \"king\", \"tokenSha256\": %q},\n  {\"user\": \"bob\", \"role\": \"viewer\", \"tokenSha256\": %q},\n  {\"role\": \"viewer\", \"tokenSha256\": \"00\"}\n]", h, h), []string{
			`t.json:2: entry 1 (user "ann"): role: unknown role "king": use viewer, operator or admin`,
			`t.json:4: entry 3: user: is missing`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.ParseTokens([]byte(tt.src), "t.json")
			var fe *auth.TokenFileError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseTokens = %v, want a *TokenFileError", err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("ParseTokens error =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	content := fmt.Sprintf(`[{"user": "ann", "role": "viewer", "tokenSha256": %q}]`, auth.HashToken("secret-1"))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := tokens.Verify(context.Background(), "secret-1"); err != nil || id.User != "ann" {
		t.Errorf("Verify = %+v, %v", id, err)
	}
	if _, err := auth.LoadFile(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want fs.ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("[\n  {\"user\": \"ann\"}\n]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadFile(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":2: entry 1") {
		t.Errorf("LoadFile(bad) = %v, want an error at %s:2", err, bad)
	}
}

// fakeStore is a TokenStore over a map from hash to identity.
type fakeStore struct {
	ids   map[string]auth.Identity
	err   error
	asked *[]string
}

var errNoRow = errors.New("not found")

func (s fakeStore) TokenByHash(_ context.Context, hash string) (auth.Identity, error) {
	if s.asked != nil {
		*s.asked = append(*s.asked, hash)
	}
	if s.err != nil {
		return auth.Identity{}, s.err
	}
	id, ok := s.ids[hash]
	if !ok {
		return auth.Identity{}, fmt.Errorf("token %s: %w", hash[:8], errNoRow)
	}
	return id, nil
}

func TestStore(t *testing.T) {
	t.Parallel()
	var asked []string
	store := fakeStore{asked: &asked, ids: map[string]auth.Identity{
		auth.HashToken("stored"):  {User: "svc", Groups: []string{"bots"}, Role: auth.Operator},
		auth.HashToken("no-role"): {User: "ghost"},
	}}
	tokens, clear := auth.Dev()
	tokens.Store, tokens.NotFound = store, errNoRow
	ctx := context.Background()

	if id, err := tokens.Verify(ctx, "stored"); err != nil || id.User != "svc" || id.Role != auth.Operator {
		t.Errorf("Verify(stored) = %+v, %v", id, err)
	}
	if len(asked) != 1 || asked[0] != auth.HashToken("stored") {
		t.Errorf("the store was asked %v, want the token's hash", asked)
	}
	if _, err := tokens.Verify(ctx, clear[0].Token); err != nil || len(asked) != 1 {
		t.Errorf("a built-in token went to the store (%v, asked %d times)", err, len(asked))
	}
	if _, err := tokens.Verify(ctx, "unknown"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Verify(unknown) = %v, want ErrInvalidToken", err)
	}
	if _, err := tokens.Verify(ctx, "no-role"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Verify(no role) = %v, want ErrInvalidToken", err)
	}
	down := &auth.Tokens{Store: fakeStore{err: errors.New("connection refused")}, NotFound: errNoRow}
	_, err := down.Verify(ctx, "stored")
	if err == nil || errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Verify with the store down = %v, want the store's error", err)
	}
	// Without NotFound, the store's not-found error is not a rejection,
	// unless it wraps ErrInvalidToken.
	rejecting := &auth.Tokens{Store: fakeStore{err: fmt.Errorf("revoked: %w", auth.ErrInvalidToken)}}
	if _, err := rejecting.Verify(ctx, "x"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Verify with a rejecting store = %v", err)
	}
}
