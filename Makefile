# Baton. `make run` serves the demo workflows on the embedded database;
# `make test` runs every test (unit, conformance, fuzz seeds, store suites,
# end-to-end).

GO ?= go
BATON_TEST_POSTGRES ?=
export BATON_TEST_POSTGRES

.PHONY: run build test vet fmt-check fuzz bench clean

run: build
	./bin/baton serve --dev --db ./baton.db --addr :8080 --deploy examples

build:
	$(GO) build -o bin/baton ./cmd/baton

test: vet fmt-check
	$(GO) test -count=1 -timeout 12m ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Run each fuzzer for a while; new crashers land in testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run XXX -fuzz FuzzParseJSON -fuzztime $(FUZZTIME) ./internal/model
	$(GO) test -run XXX -fuzz FuzzParseBPMN -fuzztime $(FUZZTIME) ./internal/model/bpmn
	$(GO) test -run XXX -fuzz FuzzCompileExpr -fuzztime $(FUZZTIME) ./internal/expr
	$(GO) test -run XXX -fuzz FuzzStep -fuzztime $(FUZZTIME) ./internal/engine

bench:
	$(GO) test -run XXX -bench . -benchmem ./internal/engine

clean:
	rm -rf bin baton.db baton.db-wal baton.db-shm
