# groupsync: `make test` is what CI runs (.ci/run).
GO ?= go
BIN := bin/groupsync

.PHONY: build test cross-check release bench bench-large bench-decode soak demo fuzz clean

# Release builds: static (CGO_ENABLED=0; the SQLite driver is pure Go),
# with no build paths, stamped with the commit (-buildvcs: --version reads
# the tag, commit and dirty flag from the build info; build from a clone,
# not a git worktree, whose .git the go command does not recognise).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
RELEASE_FLAGS := -trimpath -buildvcs=true -ldflags=-s

build:
	$(GO) build -o $(BIN) ./cmd/groupsync

# vet, formatting, and every test with the race detector, against a
# throwaway PostgreSQL server too (scripts/with-postgres.sh: Debian's
# postgresql package; the PostgreSQL tests fail, not skip, without it).
test:
	$(GO) vet ./...
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	scripts/with-postgres.sh $(GO) test -race -count=1 ./...
	$(MAKE) cross-check

# One release target, cheaply: the cross build still compiles.
cross-check:
	CGO_ENABLED=0 GOOS=windows GOARCH=arm64 $(GO) build $(RELEASE_FLAGS) -o /dev/null ./cmd/groupsync

# Every platform into dist/, with SHA256SUMS.
release:
	rm -rf dist
	mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		out=dist/groupsync_$(VERSION)_$${os}_$${arch}$$ext; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build $(RELEASE_FLAGS) -o $$out ./cmd/groupsync; \
	done
	cd dist && if command -v sha256sum >/dev/null; then sha256sum groupsync_*; else shasum -a 256 groupsync_*; fi > SHA256SUMS
	cat dist/SHA256SUMS

# Benchmarks: the scale scenarios, the whole command (BenchmarkCLI: the
# groupsync binary at 10,000 x 200), the decoders and the state cache.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

# The whole-command benchmark at 50,000 groups x 200 members.
bench-large:
	GROUPSYNC_BENCH_LARGE=1 $(GO) test -run '^$$' -bench 'BenchmarkCLI' -benchtime 1x -timeout 60m ./internal/scale

# The Lunkr decoder against Yunzhijia's, side by side (issue 18: within 2x).
bench-decode:
	GO=$(GO) scripts/decode-ratio.sh

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
	rm -rf bin dist demo.db demo.db-wal demo.db-shm demo.db.sandbox.json
