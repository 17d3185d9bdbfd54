package layout

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/batonhq/baton"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "-deps=false", mod+"/...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("SKIP: go list unavailable: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func short(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, mod), "/") }

func TestDependencyRules(t *testing.T) {
	pkgs := list(t)
	if len(pkgs) < 10 {
		t.Fatalf("only %d packages listed", len(pkgs))
	}
	internalOf := func(p pkg) []string {
		var out []string
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, mod) {
				out = append(out, short(imp))
			}
		}
		return out
	}
	// 1. Leaves import no other Baton package.
	for _, leaf := range []string{"", "internal/clock", "internal/feel", "internal/script", "internal/form", "internal/egress", "web", "internal/auth", "internal/tracing"} {
		p, ok := pkgs[strings.TrimSuffix(mod+"/"+leaf, "/")]
		if !ok {
			t.Errorf("package %q not found", leaf)
			continue
		}
		if got := internalOf(p); len(got) > 0 {
			t.Errorf("%s is a leaf but imports %v", p.ImportPath, got)
		}
	}
	// expr is a leaf but for FEEL: "=..." expressions are FEEL, as in
	// Camunda 8, and expr is where every expression form is told apart.
	if p, ok := pkgs[mod+"/internal/expr"]; !ok {
		t.Errorf("package internal/expr not found")
	} else if got := internalOf(p); len(got) > 1 || len(got) == 1 && got[0] != "internal/feel" {
		t.Errorf("internal/expr may import only internal/feel, but imports %v", got)
	}
	// 2. The engine does no I/O and knows nothing of stores or servers;
	// neither does replay, which re-runs it offline.
	forbidden := []string{"net", "net/http", "database/sql", "log/slog", "os/exec", "math/rand", "math/rand/v2"}
	for _, name := range []string{"internal/engine", "internal/model", "internal/model/bpmn", "internal/replay"} {
		p := pkgs[mod+"/"+name]
		for _, imp := range p.Imports {
			for _, f := range forbidden {
				if imp == f {
					t.Errorf("%s imports %s (no I/O, no clock, no randomness in the core)", name, imp)
				}
			}
		}
		for _, imp := range internalOf(p) {
			if strings.HasPrefix(imp, "internal/store") || strings.HasPrefix(imp, "internal/runner") || strings.HasPrefix(imp, "internal/rest") {
				t.Errorf("%s imports %s", name, imp)
			}
		}
	}
	// 3. Only the store implementations import database drivers.
	drivers := []string{"modernc.org/sqlite", "github.com/jackc/pgx/v5", "github.com/jackc/pgx/v5/pgxpool", "github.com/mattn/go-sqlite3", "database/sql"}
	for path, p := range pkgs {
		s := short(path)
		if s == "internal/store/sqlite" || s == "internal/store/postgres" || strings.HasPrefix(s, "test/") {
			continue // test harnesses under test/ may prepare databases
		}
		for _, imp := range p.Imports {
			for _, d := range drivers {
				if imp == d {
					t.Errorf("%s imports %s: only internal/store/sqlite and internal/store/postgres may", s, imp)
				}
			}
		}
	}
	// 4. Handlers depend on the runner, never the reverse.
	for _, imp := range internalOf(pkgs[mod+"/internal/runner"]) {
		for _, h := range []string{"internal/httpcall", "internal/notify", "internal/llmtask", "internal/llm", "internal/rest", "internal/store/sqlite", "internal/store/postgres"} {
			if imp == h || strings.HasPrefix(imp, h+"/") {
				t.Errorf("internal/runner imports %s", imp)
			}
		}
	}
	// 5. rest never touches SQL: no store implementation.
	for _, imp := range internalOf(pkgs[mod+"/internal/rest"]) {
		if imp == "internal/store/sqlite" || imp == "internal/store/postgres" {
			t.Errorf("internal/rest imports %s", imp)
		}
	}
	// 6. Nothing imports cmd/baton.
	for path, p := range pkgs {
		for _, imp := range p.Imports {
			if imp == mod+"/cmd/baton" {
				t.Errorf("%s imports cmd/baton", path)
			}
		}
	}
}
