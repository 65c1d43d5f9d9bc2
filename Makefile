# netriage Makefile. `make test` is self-sufficient on a fresh Debian machine
# as root: it installs the packages the tests need, then runs everything.

GO        ?= go
BIN       := bin/netriage
PKGS      := ./...
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# Debian packages the build and the tests use (prometheus: promtool and the
# server of the fleet end-to-end test; systemd: systemd-analyze verify of
# configs/deploy/netriage-serve.service).
DEB_PKGS  := gcc libc6-dev libpcap-dev libcap2-bin iproute2 ethtool tmux iperf3 tshark tcpdump iftop nethogs nftables procps netsniff-ng prometheus systemd
FUZZEXECS ?= 50000x

.PHONY: all build run test unit mixin integration e2e fuzz bench lint deps generate tidy-check clean

all: build

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './.git/*') go.mod go.sum
	@mkdir -p bin
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/netriage

# deps installs the Debian packages missing on this machine (needs root) and
# downloads the Go modules. Services the packages ship (prometheus) are not
# started: a policy-rc.d refuses it during the install.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing (run: sudo make deps)"; exit 1; fi; \
		echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
		rc=/usr/sbin/policy-rc.d; made=""; \
		if [ ! -e $$rc ]; then printf '#!/bin/sh\nexit 101\n' > $$rc && chmod +x $$rc && made=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; st=$$?; \
		if [ -n "$$made" ]; then rm -f $$rc; fi; [ $$st = 0 ] || exit $$st; \
	fi
	$(GO) mod download

# run starts the main job on this machine's live interfaces.
run: deps build
	$(BIN)

test: deps lint unit mixin integration e2e fuzz
	@echo "make test: all passed"

unit:
	$(GO) test -race -count=1 $(PKGS)

# mixin checks the Prometheus rules and alerts of configs/mixin and runs
# their unit tests with promtool (Debian package prometheus, which deps
# installs). Without promtool it says so and skips; the Go test of
# configs/mixin (under unit) still checks names, cases and the dashboard.
PROMTOOL ?= promtool
mixin:
	@if ! command -v $(PROMTOOL) >/dev/null 2>&1; then \
		echo "mixin: SKIPPED: $(PROMTOOL) not found (install the Debian package prometheus: sudo make deps)"; exit 0; \
	fi; \
	$(PROMTOOL) check rules configs/mixin/*.yml && $(PROMTOOL) test rules configs/mixin/tests/*.yml

# Privileged tests (network namespaces, AF_PACKET) are named TestIntegration*;
# they need root and run under `make test` in CI.
integration: build
	NETRIAGE_INTEGRATION=1 NETRIAGE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run 'TestIntegration' -timeout 10m -p 1 $(PKGS)

e2e: build
	NETRIAGE_INTEGRATION=1 NETRIAGE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run 'TestE2E' -timeout 10m ./cmd/...

fuzz:
	@./internal/fuzz.sh $(FUZZEXECS)

# bench runs every benchmark; the lab ones (live capture floods against iftop,
# one of them random-source from trafgen, a quiet link against iftop, idle
# processes against a bare Go ticker, the observer effect of captures and of
# nftables counters on iperf3, procs against nethogs) need root and run
# because NETRIAGE_INTEGRATION is set. BenchmarkIdle logs a system-call
# summary when strace is installed (optional).
bench: build
	NETRIAGE_INTEGRATION=1 NETRIAGE_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchmem -benchtime 1s -count=1 -timeout 20m $(PKGS)

lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet $(PKGS)
	@./internal/purity.sh
	@d=$$($(GO) mod tidy -diff) || { echo "go.mod/go.sum are not tidy; run 'go mod tidy':"; echo "$$d"; exit 1; }

generate:
	$(GO) generate $(PKGS)

tidy-check:
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean:
	rm -rf bin
