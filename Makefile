# groupsync: `make test` is what CI runs (.ci/run).
GO ?= go
BIN := bin/groupsync

.PHONY: build test bench bench-large soak demo fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/groupsync

# vet, formatting, and every test with the race detector.
test:
	$(GO) vet ./...
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) test -race -count=1 ./...

# Benchmarks: the scale scenarios, the whole command (BenchmarkCLI: the
# groupsync binary at 10,000 x 200), the decoders and the state cache.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

# The whole-command benchmark at 50,000 groups x 200 members.
bench-large:
	GROUPSYNC_BENCH_LARGE=1 $(GO) test -run '^$$' -bench 'BenchmarkCLI' -benchtime 1x -timeout 60m ./internal/scale

# Longer reliability runs (more kill points, higher fault rates, more
# seeds and concurrent-apply rounds); see README "Reliability".
soak:
	GROUPSYNC_SOAK=1 $(GO) test -count=1 -timeout 60m -run 'Fault|Crash|Soak|ConcurrentApplies' ./...

# The sandbox demo from the README, in a scratch state file.
demo: build
	rm -f demo.db demo.db-wal demo.db-shm demo.db.sandbox.json
	./$(BIN) plan --sandbox --state demo.db -f examples/groups.yaml || true
	./$(BIN) apply --sandbox --state demo.db --auto-approve -f examples/groups.yaml
	./$(BIN) plan --sandbox --state demo.db -f examples/groups.yaml

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 60s ./internal/spec

clean:
	rm -rf bin demo.db demo.db-wal demo.db-shm demo.db.sandbox.json
