# cairn — see README.md.
GO ?= go
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build install testnet loadtest sim sim-scale test test-short lint bench fuzz clean

all: build

# The binaries, cairnd and cairn, into ./bin (lint's go vet compiles
# every package).
build:
	$(GO) build -o bin/ ./cmd/...

install:
	$(GO) install ./cmd/...

# A local testnet until Ctrl-C: 3 cairnd processes on loopback, 2 of them
# mining, with prefunded wallets alice and bob; flags through ARGS, e.g.
# make testnet ARGS='-nodes 5 -fresh'.
# The launcher is built and run, not go run: go run exits 1 when it is
# interrupted, so a clean Ctrl-C would end in "make: *** Error 1".
ARGS ?=
testnet:
	$(GO) build -o bin/testnet ./testnet
	./bin/testnet $(ARGS)

# The transaction path under a constant offered load: 3 cairnd processes
# (2 mining, 1 entry), transfers at each rate, then the check that none
# was lost; e.g. make loadtest ARGS='-senders 300 -rates 200,500,1000,2000
# -stage 60s -json out.json'.
loadtest:
	$(GO) run ./loadtest $(ARGS)

# N real nodes on mocknet with per-link latency and bandwidth, Poisson
# mining, a tx load and an optional partition, measured against the
# shortest-path bound; e.g. make sim ARGS='-nodes 100 -latency 25ms-150ms
# -block-time 2s -duration 2m -partition 40:60s -json out.json'.
sim:
	$(GO) run ./cmd/cairn-sim $(ARGS)

# The same at N = 16, 32, 64, 100 (other flags through ARGS), then how the
# time-to-all p95 grows with N.
sim-scale:
	$(GO) run ./cmd/cairn-sim -scale 16,32,64,100 $(ARGS)

# The whole suite, race detector on: every package with goroutines is
# covered, and the fuzz seed corpora run as ordinary tests.
test:
	$(GO) test -race -timeout 15m ./...

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Every performance figure cairn targets (the table in internal/benchtab)
# beside its ceiling measured in the same run.
bench:
	$(GO) run ./internal/benchtab

# Run each fuzz target for FUZZTIME (default 60s).
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
