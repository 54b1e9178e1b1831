# micro-gw: the two commands of the README, and a few helpers.
#   make demo   the whole revocation story on this machine (scripts/demo.sh)
#   make test   every unit and integration test, with the race detector

GO ?= go

.PHONY: all build demo test vet fmt-check clean

all: build

# bin/micro-gw and bin/gateway
build:
	$(GO) build -o bin/ ./cmd/...

demo:
	bash scripts/demo.sh

test:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin

# Benchmarks (bench/run.sh; see docs/benchmarks.md). Loopback only, bounded loads.
#   make bench        the full run (~15 min on 2 cores): installs wrk/haproxy/etcd/RabbitMQ when
#                     missing, measures every row of issue 7, rewrites docs/benchmarks.md
#   make bench-smoke  the same steps with tiny counts and 1 s loads, no assertion on speed (CI)
.PHONY: bench bench-smoke
bench:
	bash bench/run.sh

bench-smoke:
	bash bench/run.sh --smoke

# The chaos suite (scripts/chaos.sh, e2e/chaos_test.go; see docs/reliability.md): its own Debian
# etcd and RabbitMQ on loopback ports of its own, two gateways, faults while a token service revokes.
#   make chaos         N = 10,000 tokens, and a 3-member etcd cluster with the leader killed (~10 min)
#   make chaos-smoke   N = 300, one fault of each kind, and a small cluster run (CI, ~2 min)
.PHONY: chaos chaos-smoke
chaos:
	bash scripts/chaos.sh

chaos-smoke:
	bash scripts/chaos.sh --smoke
