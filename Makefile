# Baton. `make run` serves the demo workflows on the embedded database;
# `make test` runs every test (unit, conformance, fuzz seeds, store suites,
# end-to-end, the web UI's build check and its browser tests).

GO ?= go
NPM ?= npm
BATON_TEST_POSTGRES ?=
export BATON_TEST_POSTGRES

.PHONY: run build test vet tidy-check fmt-check fuzz bench clean ui ui-check ui-check-if-npm browser-prereq browser-test screenshots

# --dev: demo users whose (public) tokens are printed, and a demo payments
# service on 127.0.0.1 that the examples' HTTP calls reach, so that every
# example can reach its end with nothing else running.
run: build
	./bin/baton serve --dev --db ./baton.db --addr :8080 --deploy examples

# The release binary is stripped of its symbol table and DWARF data
# (-s -w): about a third of its size, and panics still print file:line.
build:
	$(GO) build -ldflags='-s -w' -o bin/baton ./cmd/baton

test: vet fmt-check tidy-check ui-check-if-npm browser-prereq
	$(GO) test -count=1 -timeout 12m ./...

# The web UI (web/): install the locked npm packages and build web/dist,
# which is committed and embedded in the binary (go build needs no npm).
ui:
	cd web && $(NPM) ci && $(NPM) run build

web/node_modules/.installed: web/package-lock.json
	cd web && $(NPM) ci
	@touch $@

# ui-check rebuilds the UI into a temporary directory and fails when the
# committed web/dist differs (Vite builds the same bytes from the same
# sources and packages): run `make ui` and commit web/dist.
ui-check: web/node_modules/.installed
	@tmp="$$(mktemp -d)"; \
	if ! (cd web && $(NPM) run --silent build -- --outDir "$$tmp/dist" --emptyOutDir >"$$tmp/build.log" 2>&1); then \
		cat "$$tmp/build.log"; rm -rf "$$tmp"; exit 1; \
	fi; \
	if diff -r web/dist "$$tmp/dist" >"$$tmp/diff"; then \
		echo "ui-check: web/dist is up to date"; rm -rf "$$tmp"; \
	else \
		echo "ui-check: web/dist is stale: run 'make ui' and commit web/dist"; head -20 "$$tmp/diff"; rm -rf "$$tmp"; exit 1; \
	fi

ui-check-if-npm:
	@if command -v $(NPM) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory ui-check; \
	else \
		echo "SKIP ui-check: npm is not installed, web/dist is not checked against web/src"; \
	fi

# The browser tests (test/browser) need Debian's Chromium: install it when
# missing (as root, apt-get); without it they skip.
browser-prereq:
	@bash test/browser/ensure-chromium.sh || \
		echo "SKIP browser tests: Chromium is missing and could not be installed (test/browser/ensure-chromium.sh)"

browser-test: browser-prereq
	$(GO) test -count=1 -v ./test/browser/

# Retake docs/screenshots/*.png from the browser tests.
screenshots: browser-prereq
	BATON_UPDATE_SCREENSHOTS=1 $(GO) test -count=1 -run 'TestManagerReview|TestOperatorPages' ./test/browser/

vet:
	$(GO) vet ./...

# go.mod must say which requirements the code imports (direct) and which
# come along with them (// indirect): go mod tidy -diff fails when it does not.
tidy-check:
	$(GO) mod tidy -diff

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Run each fuzzer for a while; new crashers land in testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run XXX -fuzz FuzzParseJSON -fuzztime $(FUZZTIME) ./internal/model
	$(GO) test -run XXX -fuzz FuzzParseBPMN -fuzztime $(FUZZTIME) ./internal/model/bpmn
	$(GO) test -run XXX -fuzz FuzzCompileExpr -fuzztime $(FUZZTIME) ./internal/expr
	$(GO) test -run XXX -fuzz FuzzFEEL -fuzztime $(FUZZTIME) ./internal/feel
	$(GO) test -run XXX -fuzz FuzzStep -fuzztime $(FUZZTIME) ./internal/engine
	$(GO) test -run XXX -fuzz FuzzRun -fuzztime $(FUZZTIME) ./internal/script
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/form
	$(GO) test -run XXX -fuzz FuzzUnaryTest -fuzztime $(FUZZTIME) ./internal/dmn

bench:
	$(GO) test -run XXX -bench . -benchmem ./internal/engine

clean:
	rm -rf bin baton.db baton.db-wal baton.db-shm
