package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// TokenStore looks tokens up by the hex SHA-256 of the token. The store
// implements it (a tokens table); auth declares it so as to depend on
// nothing more.
type TokenStore interface {
	TokenByHash(ctx context.Context, hash string) (Identity, error)
}

// Tokens verifies bearer tokens against SHA-256 hashes: those it was built
// with (LoadFile, ParseTokens, NewTokens, Dev) and, when Store is set,
// those in the store. A token is never held in clear.
//
// The zero value (with Store set) verifies against the store alone.
type Tokens struct {
	// Store, when set, is asked for tokens not among the built-in ones.
	Store TokenStore
	// NotFound is the error Store returns for an unknown hash (for
	// store.ErrNotFound); it, like ErrInvalidToken, means the token is
	// invalid, while any other error from Store means it could not be
	// checked.
	NotFound error

	entries []entry
}

type entry struct {
	hash [sha256.Size]byte
	id   Identity
}

var _ Verifier = (*Tokens)(nil)

// maxTokenLen bounds what is hashed; longer tokens are invalid.
const maxTokenLen = 16 << 10

// Verify returns the identity of token. The presented token's hash is
// compared with every built-in hash in constant time.
func (t *Tokens) Verify(ctx context.Context, token string) (Identity, error) {
	if token == "" || len(token) > maxTokenLen {
		return Identity{}, ErrInvalidToken
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], t.entries[i].hash[:]) == 1 {
			found = i
		}
	}
	if found >= 0 {
		return t.entries[found].id.clone(), nil
	}
	if t.Store == nil {
		return Identity{}, ErrInvalidToken
	}
	id, err := t.Store.TokenByHash(ctx, hex.EncodeToString(sum[:]))
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalidToken), t.NotFound != nil && errors.Is(err, t.NotFound):
		return Identity{}, ErrInvalidToken
	default:
		return Identity{}, fmt.Errorf("look up token: %w", err)
	}
	if id.User == "" || !id.Role.AtLeast(Viewer) {
		return Identity{}, fmt.Errorf("%w: the token's user has no name or no role", ErrInvalidToken)
	}
	return id.clone(), nil
}

// Len is the number of built-in tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// HashToken returns the hex SHA-256 of a token: what a tokens file and a
// TokenStore hold.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a fresh random token (130 bits, base32), prefixed
// "baton_" so that secret scanners can spot it.
func NewToken() string { return "baton_" + rand.Text() }

// TokenEntry is one token of a tokens file: who it is for and its hash.
type TokenEntry struct {
	User        string   `json:"user"`
	Groups      []string `json:"groups,omitempty"`
	Role        Role     `json:"role"`
	TokenSHA256 string   `json:"tokenSha256"`
}

// NewTokens builds a verifier from entries, refusing entries without a
// user, role or valid hash, and two entries with the same hash.
func NewTokens(entries ...TokenEntry) (*Tokens, error) {
	t := &Tokens{}
	var errs []error
	seen := map[[sha256.Size]byte]int{}
	for i, e := range entries {
		en, field, err := makeEntry(e)
		if err == nil {
			if j, dup := seen[en.hash]; dup {
				field, err = "tokenSha256", fmt.Errorf("is the same token as entry %d", j+1)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d (user %q): %s: %w", i+1, e.User, field, err))
			continue
		}
		seen[en.hash] = i
		t.entries = append(t.entries, en)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// makeEntry checks an entry; on error it names the field.
func makeEntry(e TokenEntry) (entry, string, error) {
	switch {
	case strings.TrimSpace(e.User) == "":
		return entry{}, "user", errors.New("is missing")
	case strings.TrimSpace(e.User) != e.User:
		return entry{}, "user", fmt.Errorf("%q has spaces around it", e.User)
	case !e.Role.AtLeast(Viewer) || e.Role > Admin:
		return entry{}, "role", errors.New("is missing: use viewer, operator or admin")
	}
	for i, g := range e.Groups {
		if strings.TrimSpace(g) == "" || strings.TrimSpace(g) != g {
			return entry{}, "groups", fmt.Errorf("group %d (%q) is empty or has spaces around it", i+1, g)
		}
	}
	h := strings.ToLower(e.TokenSHA256)
	var en entry
	if len(h) != 2*sha256.Size {
		return entry{}, "tokenSha256", fmt.Errorf("must be the 64 hex digits of the token's SHA-256, not %d characters", len(h))
	}
	if _, err := hex.Decode(en.hash[:], []byte(h)); err != nil {
		return entry{}, "tokenSha256", errors.New("must be the 64 hex digits of the token's SHA-256")
	}
	en.id = Identity{User: e.User, Groups: append([]string(nil), e.Groups...), Role: e.Role}
	return en, "", nil
}

// TokenFileError lists every problem of a tokens file, each on its line.
type TokenFileError struct {
	File     string
	Problems []TokenProblem
}

// TokenProblem is one problem of a tokens file.
type TokenProblem struct {
	Line    int
	Entry   int    // 1-based; 0 for the file as a whole
	User    string // the entry's user, when known
	Field   string
	Message string
}

func (p TokenProblem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Entry > 0 {
		fmt.Fprintf(&b, "entry %d", p.Entry)
		if p.User != "" {
			fmt.Fprintf(&b, " (user %q)", p.User)
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

func (e *TokenFileError) Error() string {
	var b strings.Builder
	name := e.File
	if name == "" {
		name = "tokens"
	}
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: ", name, p.Line)
			p.Line = 0
		} else {
			b.WriteString(name + ": ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// LoadFile reads a tokens file (see ParseTokens). It is meant to be called
// from cmd/baton, the one place that reads configuration files.
func LoadFile(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	return ParseTokens(data, path)
}

// tokenFields are the fields of a tokens file entry.
var tokenFields = []string{"user", "groups", "role", "tokenSha256"}

// ParseTokens reads a tokens file: a JSON array of entries
//
//	[{"user": "ann", "groups": ["managers"], "role": "operator",
//	  "tokenSha256": "<64 hex digits: the SHA-256 of the token>"}]
//
// Every problem is reported in a *TokenFileError with its line, entry and
// field; name is the file name to report. A field holding a token in clear
// ("token") is refused.
func ParseTokens(data []byte, name string) (*Tokens, error) {
	fe := &TokenFileError{File: name}
	add := func(off int64, entryNo int, user, field, msg string) {
		fe.Problems = append(fe.Problems, TokenProblem{Line: lineAt(data, off), Entry: entryNo, User: user, Field: field, Message: msg})
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		off := int64(0)
		if errors.As(err, &se) {
			off = max(se.Offset-1, 0)
		}
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if len(bytes.TrimSpace(data)) == 0 {
			msg = "the file is empty: write a JSON list of tokens, [] for none"
		}
		add(off, 0, "", "", msg)
		return nil, fe
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, _ := dec.Token(); tok != json.Delim('[') {
		add(0, 0, "", "", `must be a JSON list of tokens: [{"user": ..., "role": ..., "tokenSha256": ...}]`)
		return nil, fe
	}
	t := &Tokens{}
	type seenAt struct{ entry, line int }
	seen := map[[sha256.Size]byte]seenAt{}
	for n := 1; dec.More(); n++ {
		var item json.RawMessage
		before := dec.InputOffset()
		if err := dec.Decode(&item); err != nil {
			add(before, n, "", "", err.Error())
			return nil, fe
		}
		start := before + int64(len(data[before:])-len(bytes.TrimLeft(data[before:], " \t\r\n,")))
		e, offs, ok := parseEntry(item, func(rel int64, user, field, msg string) { add(start+rel, n, user, field, msg) })
		if !ok {
			continue
		}
		en, field, err := makeEntry(e)
		if err != nil {
			add(start+offs[field], n, e.User, field, err.Error())
			continue
		}
		if prev, dup := seen[en.hash]; dup {
			add(start+offs["tokenSha256"], n, e.User, "tokenSha256", fmt.Sprintf("is the same token as entry %d (line %d)", prev.entry, prev.line))
			continue
		}
		seen[en.hash] = seenAt{n, lineAt(data, start)}
		t.entries = append(t.entries, en)
	}
	if len(fe.Problems) > 0 {
		return nil, fe
	}
	return t, nil
}

// parseEntry decodes one entry, reporting each bad field at its offset in
// item, and returns the offset of each field.
func parseEntry(item json.RawMessage, add func(off int64, user, field, msg string)) (TokenEntry, map[string]int64, bool) {
	var e TokenEntry
	offs := map[string]int64{}
	dec := json.NewDecoder(bytes.NewReader(item))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		add(0, "", "", "must be an object with user, groups, role and tokenSha256")
		return e, offs, false
	}
	type field struct {
		name string
		off  int64
		raw  json.RawMessage
	}
	var fields []field
	for dec.More() {
		tok, _ := dec.Token()
		name, _ := tok.(string)
		off := dec.InputOffset()
		var raw json.RawMessage
		_ = dec.Decode(&raw) // item is valid JSON
		fields = append(fields, field{name, off, raw})
		if _, dup := offs[name]; !dup {
			offs[name] = off
		}
	}
	for _, f := range fields {
		if f.name == "user" {
			_ = json.Unmarshal(f.raw, &e.User)
		}
	}
	ok := true
	have := map[string]bool{}
	for _, f := range fields {
		bad := func(msg string) {
			add(f.off, e.User, f.name, msg)
			ok = false
		}
		if have[f.name] {
			bad("is written twice")
			continue
		}
		have[f.name] = true
		switch f.name {
		case "user":
			var s string
			if json.Unmarshal(f.raw, &s) != nil {
				bad("must be a string")
			}
		case "groups":
			if json.Unmarshal(f.raw, &e.Groups) != nil {
				bad(`must be a list of group names, such as ["managers"]`)
			}
		case "role":
			var s string
			if json.Unmarshal(f.raw, &s) != nil {
				bad("must be a string: viewer, operator or admin")
				continue
			}
			r, err := ParseRole(s)
			if err != nil {
				bad(err.Error())
				continue
			}
			e.Role = r
		case "tokenSha256":
			if json.Unmarshal(f.raw, &e.TokenSHA256) != nil {
				bad("must be a string of 64 hex digits")
			}
		case "token", "secret", "password":
			bad("a token must never be stored in clear: put its SHA-256 in tokenSha256 (see docs/auth.md)")
		default:
			bad("unknown field; the fields are " + strings.Join(tokenFields, ", "))
		}
	}
	for _, name := range []string{"user", "role", "tokenSha256"} {
		if ok && !have[name] {
			add(0, e.User, name, "is missing")
			ok = false
		}
	}
	return e, offs, ok
}

// lineAt is the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// DevToken is a demo identity and its token in clear, to print once.
type DevToken struct {
	Identity
	Token string
}

// Dev returns demo users with fresh random tokens: admin (admin), manager
// (operator, group managers), clerk (viewer, group clerks) and ann
// (viewer, group managers). The verifier holds only the hashes; the clear
// tokens are returned to be printed at start and are gone after.
func Dev() (*Tokens, []DevToken) {
	users := []Identity{
		{User: "admin", Role: Admin},
		{User: "manager", Groups: []string{"managers"}, Role: Operator},
		{User: "clerk", Groups: []string{"clerks"}, Role: Viewer},
		{User: "ann", Groups: []string{"managers"}, Role: Viewer},
	}
	var entries []TokenEntry
	var clear []DevToken
	for _, u := range users {
		tok := NewToken()
		entries = append(entries, TokenEntry{User: u.User, Groups: u.Groups, Role: u.Role, TokenSHA256: HashToken(tok)})
		clear = append(clear, DevToken{Identity: u.clone(), Token: tok})
	}
	t, err := NewTokens(entries...)
	if err != nil {
		panic("auth: demo users: " + err.Error()) // the table above is fixed
	}
	return t, clear
}

// String describes the verifier without any secret.
func (t *Tokens) String() string {
	s := strconv.Itoa(len(t.entries)) + " tokens"
	if t.Store != nil {
		s += " and a token store"
	}
	return s
}
