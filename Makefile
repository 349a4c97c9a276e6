# trustly-sidecar — every target a newcomer or CI needs. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
BIN       := bin/trustly-sidecar
# The project's one version number (CONTRIBUTING.md, "Versions"): the release binaries, the
# image tag, the chart's version and appVersion, the adapter SDK's tag adapter/vX.Y.Z, the
# WordPress and Vendure plugins all carry it, and sidecar/version_test.go fails when one drifts.
# It names the release being prepared (CHANGELOG.md's Unreleased section).
RELEASE_VERSION := 0.1.0
# What `make build` stamps: a build from a clone never claims to be the release.
VERSION   ?= $(RELEASE_VERSION)-dev
# The commit, with +dirty when tracked files differ from it (the binary prints both).
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)$(if $(shell git status --porcelain --untracked-files=no 2>/dev/null),+dirty)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# What signs Trustly messages (README, "Performance", Signing): `go`, the default, is Go's own
# crypto in a pure-Go static binary for any platform; `boring` (`make build CRYPTO=boring`,
# linux/amd64 only) is GOEXPERIMENT=boringcrypto, BoringSSL's FIPS module through cgo, which
# Go supports only inside Google. It is linked statically (external linker, -static; netgo and
# osusergo keep glibc's resolver out) so it still runs FROM scratch; `openssl`
# (`make build CRYPTO=openssl`, Linux) signs through the system's libcrypto (OpenSSL 3 or 1.1),
# which github.com/golang-fips/openssl/v2 loads with dlopen at start: cgo, linked against glibc
# (no scratch image: a base with glibc and libssl3), and Go's code where libcrypto is missing.
# `version` prints which.
CRYPTO    ?= go
BORING_TAGS := -tags netgo,osusergo
OPENSSL_TAGS := -tags openssl,netgo,osusergo
ifeq ($(CRYPTO),go)
BUILD_ENV     := CGO_ENABLED=0
BUILD_TAGS    :=
BUILD_LDFLAGS := $(LDFLAGS)
else ifeq ($(CRYPTO),boring)
BUILD_ENV     := GOEXPERIMENT=boringcrypto CGO_ENABLED=1 GOOS=linux GOARCH=amd64
BUILD_TAGS    := $(BORING_TAGS)
BUILD_LDFLAGS := $(LDFLAGS) -linkmode=external -extldflags=-static
else ifeq ($(CRYPTO),openssl)
BUILD_ENV     := CGO_ENABLED=1
BUILD_TAGS    := $(OPENSSL_TAGS)
BUILD_LDFLAGS := $(LDFLAGS)
else
$(error CRYPTO=$(CRYPTO): want go (the default), boring or openssl)
endif
# Tools are pinned so every machine lints the same way.
STATICCHECK_VERSION := v0.8.2
TOOLS     := $(CURDIR)/.cache/tools
# How much each fuzz target runs in `make test`: a count of executions, not a
# duration. Go 1.26's fuzzing coordinator can fail a target with "context
# deadline exceeded" when a duration ends while a worker is busy, with no
# failing input (golang/go#75804, fixed in Go 1.27); a count has no deadline
# to race. `make fuzz FUZZTIME=10m` digs deeper (a duration is fine there).
FUZZTIME  ?= 30000x
BENCHTIME ?= 1s
BASE      ?=
ARGS      ?= demo
# Screenshots of the browser test.
BROWSER_OUT ?= $(CURDIR)/.cache/browser

.PHONY: help build run test unit fuzz bench crypto-test cc lint fmt tools clean chart-test image image-scratch scratch-crypto browser-test chromium woocommerce-test woocommerce-zip php vendure-test wordpress-test wordpress commercetools-test saleor-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

build: ## build bin/trustly-sidecar (static; CRYPTO=boring for BoringCrypto on linux/amd64, CRYPTO=openssl for the system's OpenSSL on Linux)
	@if [ "$(CRYPTO)" = boring ] && [ "$$($(GO) env GOHOSTOS)/$$($(GO) env GOHOSTARCH)" != linux/amd64 ]; then \
	  echo "CRYPTO=boring builds on linux/amd64 only (this is $$($(GO) env GOHOSTOS)/$$($(GO) env GOHOSTARCH))"; exit 1; fi
	@if [ "$(CRYPTO)" = openssl ] && [ "$$($(GO) env GOHOSTOS)" != linux ]; then \
	  echo "CRYPTO=openssl builds on Linux only (this is $$($(GO) env GOHOSTOS))"; exit 1; fi
	$(BUILD_ENV) $(GO) build -trimpath $(BUILD_TAGS) -ldflags '$(BUILD_LDFLAGS)' -o $(BIN) ./sidecar

run: build ## the demo: simulator, sidecar and a demo shop; prints one URL (ARGS="..." runs another command)
	./$(BIN) $(ARGS)

test: lint chart-test woocommerce-test ## the one command that runs every test (starts its own redis-server)
	.ci/with-redis $(MAKE) --no-print-directory unit fuzz
	$(MAKE) --no-print-directory crypto-test
	$(MAKE) --no-print-directory browser-test
	$(MAKE) --no-print-directory vendure-test
	$(MAKE) --no-print-directory wordpress-test
	$(MAKE) --no-print-directory commercetools-test
	$(MAKE) --no-print-directory saleor-test

# The Vendure plugin against a real Vendure server (@vendure/testing), the
# built binary as sidecar and simulator. Installs from the committed lockfile.
VENDURE_PLUGIN := platforms/vendure/plugin
vendure-test: build ## the Vendure plugin end to end: npm ci from the lockfile, then its tests
	cd $(VENDURE_PLUGIN) && npm ci --no-audit --no-fund && TRUSTLY_TEST_SIDECAR_BIN=$(CURDIR)/$(BIN) npm test

# The commercetools adapter end to end against @labdigital/commercetools-mock
# (node, installed from the committed lockfile), the built binary as sidecar
# and simulator. Without the mock installed, plain `go test` skips these.
CT_MOCK := platforms/commercetools/mock
commercetools-test: build ## the commercetools adapter end to end: npm ci of the mock from the lockfile, then its Go tests
	cd $(CT_MOCK) && npm ci --no-audit --no-fund
	TRUSTLY_TEST_COMMERCETOOLS_MOCK=1 TRUSTLY_TEST_SIDECAR_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 ./platforms/commercetools/...

# The Saleor stand-in's signature vector checked by Saleor's own app SDK
# (@saleor/app-sdk, exact version, committed lockfile).
SALEOR_APPSDK := platforms/saleor/appsdk
saleor-test: ## the Saleor stand-in's webhook signature verified by @saleor/app-sdk: npm ci from the lockfile, then the check
	cd $(SALEOR_APPSDK) && npm ci --no-audit --no-fund && npm test

# The other crypto paths (`unit` tests the default): core/trustly's tests (OpenSSL's known
# answers, Trustly's signed TEST vectors, sign/verify round trips) under GOEXPERIMENT=boringcrypto
# and with the openssl tag, then the CRYPTO=boring and CRYPTO=openssl binaries: boring's static,
# openssl's linked to glibc alone; each one's `version` names its crypto, and each verifies and
# signs the bytes Go's code does. linux/amd64 only. About 30 s with a warm build cache; a cold one
# compiles the standard library and the dependencies once more for each (the tests use the
# builds' -trimpath and tags, so the binaries reuse what they compiled).
BORING_BIN := bin/trustly-sidecar-boring
OPENSSL_BIN := bin/trustly-sidecar-openssl
crypto-test: cc ## the signing tests and the binaries with CRYPTO=boring (BoringCrypto) and CRYPTO=openssl, linux/amd64
	@if [ "$$($(GO) env GOHOSTOS)/$$($(GO) env GOHOSTARCH)" != linux/amd64 ]; then \
	  echo "crypto-test: BoringCrypto and OpenSSL are built on linux/amd64 only; skipped here"; exit 0; fi; \
	  set -x; \
	  GOEXPERIMENT=boringcrypto CGO_ENABLED=1 $(GO) test -count=1 -trimpath $(BORING_TAGS) ./core/trustly; \
	  CGO_ENABLED=1 $(GO) test -count=1 -trimpath $(OPENSSL_TAGS) ./core/trustly; \
	  $(MAKE) --no-print-directory build CRYPTO=boring BIN=$(BORING_BIN); \
	  $(MAKE) --no-print-directory build CRYPTO=openssl BIN=$(OPENSSL_BIN); \
	  TRUSTLY_TEST_BORING_BIN=$(CURDIR)/$(BORING_BIN) TRUSTLY_TEST_OPENSSL_BIN=$(CURDIR)/$(OPENSSL_BIN) \
	    $(GO) test -count=1 -run '^TestVersionNamesCrypto$$' ./sidecar

# A C compiler and glibc's static libraries for the cgo of CRYPTO=boring and CRYPTO=openssl
# (Debian's gcc and libc6-dev), and OpenSSL 3's libcrypto for the openssl build to load (libssl3),
# installed when missing (sudo when not root).
cc:
	@if command -v gcc >/dev/null 2>&1 && [ -n "$$(gcc -print-file-name=libc.a | grep /)" ] && \
	  { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q 'libcrypto\.so\.3 '; then exit 0; fi; \
	  sudo=""; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
	  echo "installing gcc, libc6-dev and libssl3 (Debian packages)"; \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev libssl3

# The demo clicked through by headless Chromium, driven from Go (chromedp).
# Behind the `browser` build tag, so plain `go test ./...` needs no browser.
browser-test: chromium ## click through the demo in headless Chromium; screenshots in BROWSER_OUT
	mkdir -p $(BROWSER_OUT)
	CHROMIUM=$$(command -v chromium || command -v chromium-browser) BROWSER_OUT=$(BROWSER_OUT) \
	  $(GO) test -tags browser -count=1 -run '^TestBrowser' -v ./sidecar

# Debian's chromium, installed when missing (sudo when not root).
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi; \
	  sudo=""; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
	  echo "installing chromium (Debian package)"; \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

# --- the WooCommerce plugin (PHP, platforms/woocommerce/wordpress-plugin) ---
WC_PLUGIN := platforms/woocommerce/wordpress-plugin
WC_ZIP    := bin/trustly-sidecar-gateway.zip

woocommerce-test: php ## php -l every file of the WooCommerce plugin, then its phpunit tests
	@for f in $$(find $(WC_PLUGIN) -name '*.php'); do php -l "$$f" >/dev/null || { php -l "$$f"; exit 1; }; done
	cd $(WC_PLUGIN) && phpunit

woocommerce-zip: woocommerce-test ## the installable WordPress plugin zip, in bin/
	mkdir -p bin && rm -f $(WC_ZIP)
	cd $(WC_PLUGIN) && zip -qrX $(CURDIR)/$(WC_ZIP) trustly-sidecar-gateway
	@echo "$(WC_ZIP)"

# The plugin inside a real WordPress (platforms/woocommerce/wordpresstest):
# Debian's WordPress served by php -S, a throwaway database on MariaDB
# (.ci/with-mariadb: the machine's, or a private mariadbd, installed when
# missing), the zip uploaded and activated in wp-admin, the built binary as
# sidecar and simulator. WooCommerce is a stand-in there (no registry has it).
WP_DIR  := $(CURDIR)/.cache/wordpress
WP_CORE := $(WP_DIR)/usr/share/wordpress

wordpress-test: build woocommerce-zip wordpress ## the WooCommerce plugin in Debian's WordPress (php -S, MariaDB) against the built sidecar
	.ci/with-mariadb env TRUSTLY_TEST_WORDPRESS=1 TRUSTLY_TEST_WORDPRESS_DIR=$(WP_CORE) \
	  TRUSTLY_TEST_WORDPRESS_ZIP=$(CURDIR)/$(WC_ZIP) TRUSTLY_TEST_SIDECAR_BIN=$(CURDIR)/$(BIN) \
	  $(GO) test -count=1 -v -run '^TestPluginInRealWordPress$$' ./platforms/woocommerce/wordpresstest

# php's mysqli (php-mysql) installed when missing. Debian's wordpress package
# is unpacked into .cache, not installed: its Depends pull in apache2 (whose
# postinst starts it on port 80) and mod-php, and the test serves WordPress
# with php -S. Unpacked again when Debian has a newer version.
wordpress: php
	@if ! php -r 'exit(extension_loaded("mysqli") ? 0 : 1);'; then \
	  sudo=""; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
	  echo "installing php-mysql (Debian package)"; \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends php-mysql; \
	fi
	@want=$$(apt-cache policy wordpress 2>/dev/null | awk '/Candidate:/ {print $$2}'); \
	  if [ -z "$$want" ] || [ "$$want" = "(none)" ]; then \
	    sudo=""; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
	    $$sudo apt-get update >/dev/null; \
	    want=$$(apt-cache policy wordpress | awk '/Candidate:/ {print $$2}'); \
	  fi; \
	  if [ "$$(cat $(WP_DIR)/VERSION 2>/dev/null)" != "$$want" ] || [ ! -f $(WP_CORE)/wp-settings.php ]; then \
	    echo "unpacking Debian's wordpress $$want into $(WP_DIR)"; \
	    rm -rf $(WP_DIR) && mkdir -p $(WP_DIR) && \
	    (cd $(WP_DIR) && apt-get download "wordpress=$$want" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true) && \
	    dpkg-deb -x $(WP_DIR)/wordpress_*.deb $(WP_DIR) && rm -f $(WP_DIR)/wordpress_*.deb && \
	    echo "$$want" > $(WP_DIR)/VERSION; \
	  fi

# Debian's php-cli, phpunit and zip, installed when missing (sudo when not root).
php:
	@if command -v php >/dev/null 2>&1 && command -v phpunit >/dev/null 2>&1 && command -v zip >/dev/null 2>&1; then exit 0; fi; \
	  sudo=""; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
	  echo "installing php-cli, phpunit and zip (Debian packages)"; \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends php-cli phpunit zip

# The Go modules unit, fuzz, bench and lint run in: the root, the adapter SDK
# (a module of its own, tagged adapter/vX.Y.Z) and the out-of-tree example
# adapter. `./...` stops at a nested go.mod, so each needs its own run. The
# chart tests are a module too, but need helm: chart-test runs them, lint vets them.
MODULES := . adapter adapter/examples/syncshop

unit:
	@for m in $(MODULES); do \
	  echo "unit: $$m"; \
	  (cd "$$m" && $(GO) test -race -count=1 ./...); \
	done

fuzz: ## run every fuzz target for FUZZTIME each
	@for m in $(MODULES); do \
	  for pkg in $$(cd "$$m" && $(GO) list ./...); do \
	    for target in $$(cd "$$m" && $(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz' || true); do \
	      echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	      (cd "$$m" && $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) "$$pkg"); \
	    done; \
	  done; \
	done

# One table from one run (sidecar/bench_test.go): the built binary on a real
# redis-server and the simulator. BASE=<git revision> also builds that
# revision here and measures it in turns with this build (start, Deposit,
# CPU per notification), as ratios: machines differ more than changes do.
# BENCH_ALL=1 also runs every Go benchmark.
bench: ## the performance table: notification route and its crypto bound, round trips, Deposit latency, plugin, RSS, start (BASE=<rev> beside a revision)
	.ci/with-redis env TRUSTLY_BENCH=full TRUSTLY_BENCH_BASE=$(BASE) $(GO) test -count=1 -timeout 30m -v -run '^TestBenchTable$$' ./sidecar | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$$'
	@if [ -n "$${BENCH_ALL:-}" ]; then for m in $(MODULES); do \
	  echo "bench: $$m"; \
	  (cd "$$m" && $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...); \
	done; fi

# The fault suite of issue #15 at full length (a few minutes): two serve
# processes on one Redis through kill -9, Redis stopped and frozen, the plugin
# killed and the callback down; -v prints the audit's table. `make test` runs
# its short version (about a minute) in `unit`. with-redis installs
# redis-server when missing; the suite starts its own servers.
.PHONY: reliability
reliability: ## the full fault suite and failover audits (kills, Redis outages and failovers, callback down); prints the audit tables
	.ci/with-redis env TRUSTLY_RELIABILITY_FULL=1 $(GO) test -count=1 -timeout 30m -run '^TestReliability$$' -v ./core/internal/faultsuite
	.ci/with-redis env TRUSTLY_RELIABILITY_FULL=1 $(GO) test -count=1 -timeout 10m -run 'FailoverLosesNothingAnswered' -v ./core/store/

lint: $(TOOLS)/staticcheck ## gofmt, go vet, staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES) $(CHART_TESTS); do \
	  echo "vet, staticcheck: $$m"; \
	  (cd "$$m" && $(GO) vet ./... && $(TOOLS)/staticcheck ./...); \
	done

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# --- the Helm chart (charts/trustly-sidecar) and the image ---
# helm builds from source through the Go module proxy like the other tools (about
# two minutes the first time, then cached in .cache/tools). The chart tests are a
# module of their own so the main go.mod carries no Kubernetes packages.
HELM_VERSION := v3.22.0
CHART_TESTS  := charts/trustly-sidecar/tests
IMAGE        ?= trustly-sidecar:$(VERSION)

chart-test: $(TOOLS)/helm build ## helm lint, helm template for every ci/ values file, strict API decoding, golden files
	cd $(CHART_TESTS) && HELM=$(TOOLS)/helm TRUSTLY_TEST_SIDECAR_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 ./...

$(TOOLS)/helm:
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

image: ## build the container image IMAGE with Docker (multi-stage Dockerfile; needs a Docker daemon)
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

image-scratch: scratch-crypto build ## build IMAGE from bin/trustly-sidecar and Dockerfile.scratch (no Go image; needs a Docker daemon)
	rm -rf .cache/image && mkdir -p .cache/image
	cp $(BIN) .cache/image/trustly-sidecar
	cp /etc/ssl/certs/ca-certificates.crt .cache/image/ca-certificates.crt
	@if docker info >/dev/null 2>&1; then \
	  docker build -f Dockerfile.scratch -t $(IMAGE) .cache/image; \
	else \
	  echo "image-scratch: no Docker daemon; the build context is staged in .cache/image:"; \
	  echo "  docker build -f Dockerfile.scratch -t $(IMAGE) .cache/image"; \
	fi

# Checked before anything is built: the openssl binary cannot run FROM scratch.
scratch-crypto:
	@if [ "$(CRYPTO)" = openssl ]; then \
	  echo "image-scratch: CRYPTO=openssl needs glibc and libcrypto, which a scratch image lacks; use a base with both (README, Performance, Signing)"; exit 1; fi

clean:
	rm -rf bin .cache

# --- protobuf for the adapter plugin contract (adapter/proto → adapter/internal/pb) ---
# buf compiles the .proto itself (no protoc) from local files only; the two Go
# generators are pinned so regenerating on any machine gives the same bytes.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_DIR                  := adapter/proto

.PHONY: proto proto-check

proto: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc ## regenerate adapter/internal/pb from adapter/proto
	PATH="$(TOOLS):$$PATH" $(TOOLS)/buf generate $(PROTO_DIR) --template $(PROTO_DIR)/buf.gen.yaml

proto-check: proto ## fail when the committed generated code differs from `make proto`
	@git diff --exit-code -- adapter/internal/pb || { echo "adapter/internal/pb is stale: run make proto and commit"; exit 1; }

$(TOOLS)/buf:
	GOBIN=$(TOOLS) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)

$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

# --- releases: make release builds every artifact into dist/, make release-check verifies them ---
# Nothing here pushes or uploads: a real release would push the image to RELEASE_REGISTRY and
# the chart to its OCI repository, both from CI with the project's credentials (README,
# "Installing a release"). The builds themselves are offline: modules come from the module
# cache only (GOPROXY=off), npm works --offline from the lockfile's install; only a tool missing
# from .cache/tools (helm, cyclonedx-gomod) is fetched first, pinned, like every other tool.
DIST             := dist
RELEASE_ARCHES   := amd64 arm64
RELEASE_REGISTRY := ghcr.io/trustly-sidecar
RELEASE_IMAGE    := $(RELEASE_REGISTRY)/trustly-sidecar:$(RELEASE_VERSION)
RELEASE_BIN      := $(DIST)/trustly-sidecar_$(RELEASE_VERSION)_linux
CYCLONEDX_GOMOD_VERSION := v1.10.0
# Reproducible: no cgo, no file-system paths (-trimpath), no VCS stamp and no build id (the
# commit comes in through -X), so one commit gives the same bytes on any machine and path
# with the same Go release (sidecar/release_test.go builds twice and compares).
RELEASE_LDFLAGS  := -s -w -buildid= -X main.version=$(RELEASE_VERSION) -X main.commit=$(COMMIT)
RELEASE_GOENV    := CGO_ENABLED=0 GOOS=linux GOPROXY=off GOFLAGS='-mod=readonly -buildvcs=false' GOTOOLCHAIN=local
WP_RELEASE_ZIP   := $(DIST)/trustly-sidecar-gateway.$(RELEASE_VERSION).zip

.PHONY: release release-binaries release-check release-sbom release-licenses release-chart release-wordpress release-vendure release-image-context

release: ## every release artifact into dist/ with SHA256SUMS (offline; pushes nothing)
	rm -rf $(DIST)
	$(MAKE) --no-print-directory release-binaries release-sbom release-licenses release-chart release-wordpress release-vendure release-image-context
	cd $(DIST) && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
	@echo "$(DIST)/ holds release $(RELEASE_VERSION) (commit $(COMMIT)):"; cat $(DIST)/SHA256SUMS

# Static linux binaries for RELEASE_ARCHES (`make release-binaries RELEASE_ARCHES=amd64` for one).
release-binaries:
	@mkdir -p $(DIST)
	@for arch in $(RELEASE_ARCHES); do \
	  echo "build $(RELEASE_BIN)_$$arch"; \
	  $(RELEASE_GOENV) GOARCH=$$arch $(GO) build -trimpath -ldflags '$(RELEASE_LDFLAGS)' -o $(RELEASE_BIN)_$$arch ./sidecar; \
	done

# A CycloneDX SBOM of what the linux/amd64 binary links (the module graph and the Go standard
# library, each module's licence as detected in the module cache, reported as evidence); no
# serial number and no timestamp, so the same commit gives the same file. It describes the
# commit: the generator reads the version from git (the tag vX.Y.Z on HEAD, else a pseudo-
# version) with a library that opens neither a `git worktree` nor a clone with alternates, so it
# runs in a local clone of HEAD (hard links: cheap).
release-sbom: $(TOOLS)/cyclonedx-gomod
	@mkdir -p $(DIST) .cache
	tmp=$$(mktemp -d -p .cache); trap 'rm -rf "$$tmp"' EXIT; \
	  git clone -q --no-checkout . "$$tmp/src" && git -C "$$tmp/src" checkout -q --detach $$(git rev-parse HEAD) && \
	  (cd "$$tmp/src" && $(RELEASE_GOENV) GOARCH=amd64 $(TOOLS)/cyclonedx-gomod app -json -licenses -std -noserial -notimestamp \
	    -main sidecar -output $(CURDIR)/$(DIST)/trustly-sidecar_$(RELEASE_VERSION).cdx.json .)

# The licences of everything the binaries link, for the notices MIT, BSD, Apache-2.0 (NOTICE
# files) and MPL-2.0 (go-plugin, yamux: where their source is) ask a binary distribution to carry.
release-licenses: release-binaries
	GOPROXY=off .ci/third-party-licenses $(RELEASE_BIN)_amd64 > $(DIST)/trustly-sidecar_$(RELEASE_VERSION)_licenses.txt

release-chart: $(TOOLS)/helm
	@mkdir -p $(DIST)
	$(TOOLS)/helm package charts/trustly-sidecar --destination $(DIST)

release-wordpress: woocommerce-zip
	@mkdir -p $(DIST)
	cp $(WC_ZIP) $(WP_RELEASE_ZIP)

# The Vendure plugin as npm would publish it (package.json is private: nothing is published).
release-vendure:
	@mkdir -p $(DIST)
	cd $(VENDURE_PLUGIN) && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run --silent build && \
	  npm pack --offline --silent --pack-destination $(CURDIR)/$(DIST) >/dev/null

# One Dockerfile.scratch context per architecture: `docker build` in it gives the image
# RELEASE_IMAGE would be for that platform (README, "Installing a release").
release-image-context: release-binaries
	@for arch in $(RELEASE_ARCHES); do \
	  ctx=$(DIST)/image-linux-$$arch; rm -rf $$ctx; mkdir -p $$ctx; \
	  cp Dockerfile.scratch $$ctx/Dockerfile; \
	  cp $(RELEASE_BIN)_$$arch $$ctx/trustly-sidecar; \
	  cp /etc/ssl/certs/ca-certificates.crt $$ctx/ca-certificates.crt; \
	done

# Verifies dist/ (sidecar/release_artifacts_test.go, build tag release): checksums, the
# binaries (static, the version, run on this machine when they can), the SBOM, the licences,
# the chart (templated with its defaults: the released image), the plugin zip unpacked as
# WordPress would, the npm tarball, the image contexts; then the amd64 binary is built once
# more with an empty build cache from a copy of the tree elsewhere and must be byte-identical.
release-check: $(TOOLS)/helm ## verify dist/: checksums, binaries (rebuilt from an empty cache), SBOM, licences, chart, zip, tarball, image contexts
	cd sidecar && TRUSTLY_TEST_DIST=$(CURDIR)/$(DIST) TRUSTLY_TEST_RELEASE_VERSION=$(RELEASE_VERSION) \
	  TRUSTLY_TEST_RELEASE_IMAGE=$(RELEASE_IMAGE) TRUSTLY_TEST_RELEASE_COMMIT=$(COMMIT) HELM=$(TOOLS)/helm \
	  $(GO) test -tags release -count=1 -run '^TestRelease' -v .

$(TOOLS)/cyclonedx-gomod:
	GOBIN=$(TOOLS) $(GO) install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$(CYCLONEDX_GOMOD_VERSION)
