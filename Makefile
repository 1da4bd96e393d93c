GO      ?= go
BIN     := bin/leolab
PKGS    := ./...
DEMO    := labs/examples/demo.yaml

.PHONY: build test lint demo bench bench-routers deps test-deps install-missing clean soak man

# build makes the node init (cmd/leolab-init) and the image fetcher
# (cmd/leolab-fetch) first and embeds both in leolab: still one static
# binary; nodes start without the CLI's dependencies, and the CLI starts
# without the fetcher's (go-containerregistry, net/http, TLS).
INITBIN  := internal/embedded/initbin/leolab-init
FETCHBIN := internal/embedded/fetchbin/leolab-fetch
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(INITBIN) ./cmd/leolab-init
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(FETCHBIN) ./cmd/leolab-fetch
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -tags leolab_embed_init,leolab_embed_fetch -o $(BIN) .

# deps installs the Debian packages leolab's demo uses, when missing;
# test-deps adds what only the tests use (mmdebstrap for the Debian image
# builds, debootstrap for the real-distribution test, graphviz for graph
# --format svg, chromium for leolab ui's browser tests).
deps:
	@$(MAKE) --no-print-directory install-missing PKGS_WANTED="busybox-static:busybox-static iproute2:ip iptables:iptables"

test-deps:
	@$(MAKE) --no-print-directory install-missing PKGS_WANTED="busybox-static:busybox-static iproute2:ip iptables:iptables mmdebstrap:mmdebstrap debootstrap:debootstrap graphviz:dot chromium:chromium"

# install-missing installs each PACKAGE:PROGRAM of PKGS_WANTED whose program
# is absent (busybox-static is checked by package: any busybox will not do).
install-missing:
	@missing=""; \
	for pair in $(PKGS_WANTED); do \
		pkg=$${pair%%:*}; prog=$${pair#*:}; \
		if [ "$$pkg" = busybox-static ]; then \
			[ -n "$$LEOLAB_BUSYBOX" ] || dpkg -s busybox-static >/dev/null 2>&1 || missing="$$missing $$pkg"; \
		else \
			command -v $$prog >/dev/null || missing="$$missing $$pkg"; \
		fi; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The e2e suite snapshots the whole host before and after each case, so it
# runs alone, after every other package's tests have finished.
# Tests are built as the product is (CGO_ENABLED=0): node's tests run their
# own binary as a node's init, whose per-thread syscalls (AllThreadsSyscall)
# a cgo-linked binary cannot make.
test: test-deps lint build
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v /e2e$$)
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 40m ./e2e/

# soak: 200 deploy/destroy cycles of a 20-node lab; leolab's fds, the host's
# links and mounts must stay flat (make test runs a 10-cycle version).
soak: test-deps build
	LEOLAB_SOAK_CYCLES=200 $(GO) test -count=1 -timeout 60m -run '^TestSoak$$' -v ./e2e/

demo: deps build
	./scripts/demo.sh

# bench: Go micro-benchmarks of the hot paths, then leolab against
# bench/raw-baseline.sh and Mininet at N = 10, 100, 500, 1000 (as root; about
# 10 minutes on 2 cores); writes bench/out/results.json and the SVG plot.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 20x ./topology/ ./ipam/ ./labs/ ./node/
	CGO_ENABLED=0 $(GO) run ./bench/leobench -leolab $(BIN) -bench bench -out bench/out

# bench-routers: OSPF rings of 10 and 50 FRR routers (bench/router-ring.sh):
# deploy and convergence time and PSS per router, after building the
# debian:bookworm+frr image once (a few minutes, needs the Debian mirror).
bench-routers: build
	LEOLAB=$(BIN) ./bench/router-ring.sh 10
	LEOLAB=$(BIN) ./bench/router-ring.sh 50

# man regenerates docs/man from the commands' own help (cobra/doc), dated
# by the last commit and with the default --root, so reruns change nothing.
man:
	rm -rf docs/man
	LEOLAB_ROOT= SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) $(GO) run ./cmd/leolab-genman docs/man

clean:
	rm -rf bin
