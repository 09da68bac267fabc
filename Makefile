# groupsync: `make test` is what CI runs (.ci/run).
GO ?= go
BIN := bin/groupsync

.PHONY: build test bench soak demo fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/groupsync

# vet, formatting, and every test with the race detector, against a
# throwaway PostgreSQL server too (scripts/with-postgres.sh: Debian's
# postgresql package; the PostgreSQL tests fail, not skip, without it).
test:
	$(GO) vet ./...
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	scripts/with-postgres.sh $(GO) test -race -count=1 ./...

# Benchmarks: the scale scenarios and the state cache.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

# Longer reliability runs (more kill points, higher fault rates, more
# seeds and concurrent-apply rounds); see README "Reliability".
soak:
	GROUPSYNC_SOAK=1 scripts/with-postgres.sh $(GO) test -count=1 -timeout 60m -run 'Fault|Crash|Soak|ConcurrentApplies' ./...

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
