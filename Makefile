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
