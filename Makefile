# kubecerts: three kubectl plugins on one shared layer.
#   make build    bin/kubectl-certs, bin/kubectl-ca_trust, bin/kubectl-rotate
#   make test     everything CI runs: lint, unit and e2e tests
#   make install  binaries and kubectl completion helpers into $(PREFIX)/bin

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

MODULE   := github.com/kubecerts/kubecerts
BINARIES := kubectl-certs kubectl-ca_trust kubectl-rotate
PREFIX   ?= $(HOME)/.local
GO       ?= go

VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
GIT_COMMIT ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null)
# The commit's date, not the clock's, so that builds are reproducible.
BUILD_DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS := -s -w \
	-X $(MODULE)/shared/version.version=$(VERSION) \
	-X $(MODULE)/shared/version.gitCommit=$(GIT_COMMIT) \
	-X $(MODULE)/shared/version.buildDate=$(BUILD_DATE)

STATICCHECK_VERSION := v0.8.2
CODEGEN_VERSION     := v0.37.2
GO_TEST_FLAGS       ?= -race -count=1
E2E_TIMEOUT         ?= 30m

.PHONY: all build install test unit e2e bench lint verify generate tools clean test-cluster-up test-cluster-down \
	dist dist-archives verify-dist dist-test image dist-image docs fuzz

all: build

build: $(addprefix bin/,$(BINARIES))

bin/%: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/$*

FORCE:

install: build
	install -d $(PREFIX)/bin
	install -m 0755 $(addprefix bin/,$(BINARIES)) $(PREFIX)/bin/
	install -m 0755 hack/completion/kubectl_complete-* $(PREFIX)/bin/
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "note: add $(PREFIX)/bin to PATH so kubectl finds the plugins" >&2;; esac

test: lint unit e2e verify-dist fuzz

# Unit tests: everything but the e2e suite under test/.
unit:
	$(GO) test $(GO_TEST_FLAGS) $$($(GO) list ./... | grep -v '^$(MODULE)/test/')

# e2e tests against a real etcd, kube-apiserver and kube-controller-manager;
# hack/build-tools.sh builds the pinned binaries (etcd among them) once.
e2e: tools
	KUBECERTS_TOOLS_BIN=$$(./hack/build-tools.sh) $(GO) test $(GO_TEST_FLAGS) -timeout $(E2E_TIMEOUT) ./test/...

tools:
	./hack/build-tools.sh >/dev/null

# A cluster by hand: make test-cluster-up; eval "$$(hack/test-cluster.sh env)".
test-cluster-up:
	./hack/test-cluster.sh up

test-cluster-down:
	./hack/test-cluster.sh down

# Fuzz targets, PKG:FUNC:EXECS. make test runs each for EXECS executions
# (about 10 s each here; a count, not a duration: see hack/fuzz.sh); before
# calling a parser change done, run make fuzz FUZZTIME=5m.
FUZZTIME     ?=
FUZZ_TARGETS := shared/certificate:FuzzParse:50000 shared/duration:FuzzParse:50000 \
	plugins/certs/source:FuzzKubeconfigFile:3000 plugins/certs/source/runcommand:FuzzParse:100000 \
	plugins/rotate/csrcheck:FuzzReview:50000 plugins/catrust:FuzzValidateManifest:3000 \
	shared/printing:FuzzAppendIndent:20000

fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./hack/fuzz.sh $(FUZZ_TARGETS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint: verify
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# verify: gofmt and generated code are current.
verify:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed: $$bad" >&2; exit 1; fi
	./hack/verify-generated.sh
	./hack/verify-docs.sh
	./hack/fuzz.sh --self-test

generate:
	$(GO) run k8s.io/code-generator/cmd/deepcopy-gen@$(CODEGEN_VERSION) \
	  --output-file zz_generated.deepcopy.go --go-header-file hack/boilerplate.go.txt ./shared/api/v1alpha1

clean:
	rm -rf bin dist

# docs/reference: one page per command, generated from the cobra commands
# (hack/gendocs, its own module: cobra/doc needs go-md2man, which the plugins
# do not; -mod=mod lets its go.sum follow the root module's new dependencies);
# hack/verify-docs.sh, run by verify, fails when they are stale.
docs:
	cd hack/gendocs && GOFLAGS="$${GOFLAGS:-} -mod=mod" $(GO) run . -out ../../docs/reference

# Release archives. make dist cross-compiles the plugins for DIST_PLATFORMS
# (one go build per binary and platform, into dist/bin/<os>_<arch>/), then
# hack/dist packs dist/<binary>_<os>_<arch>.tar.gz (.zip for windows: binary,
# kubectl_complete-* helper, LICENSE; reproducible), writes dist/sha256sums.txt
# and renders the krew manifests krew/<plugin>.yaml into dist/krew/ with the
# archives' sha256 under BASE_URL. krew needs a semantic version with a leading
# v: a tag (v0.1.0) is used as is; an untagged tree (git describe a83fd6b-dirty)
# is released as v0.0.0-dev+a83fd6b-dirty. make -j4 dist builds in parallel.
DIST_PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
DIST_VERSION   ?= $(shell v='$(VERSION)'; \
	if echo "$$v" | grep -Eq '^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$$'; \
	then echo "$$v"; else echo "v0.0.0-dev+$$(echo "$$v" | tr -c '0-9A-Za-z.\n-' '-')"; fi)
BASE_URL       ?= https://github.com/kubecerts/kubecerts/releases/download/$(VERSION)

comma := ,
empty :=
space := $(empty) $(empty)
DIST_BINS  := $(foreach p,$(DIST_PLATFORMS),$(foreach b,$(BINARIES),dist/bin/$(subst /,_,$(p))/$(b)$(if $(filter windows/%,$(p)),.exe)))
DIST_FLAGS  = -version=$(VERSION) -date=$(BUILD_DATE) -base-url=$(BASE_URL) -bin=dist/bin \
	-binaries=$(subst $(space),$(comma),$(strip $(BINARIES))) -platforms=$(subst $(space),$(comma),$(strip $(DIST_PLATFORMS))) \
	-license=LICENSE -completion=hack/completion -templates=krew

# The version is settled first, then everything (LDFLAGS, BASE_URL) is built
# from it in a sub-make.
dist:
	@$(MAKE) --no-print-directory dist-archives VERSION='$(DIST_VERSION)'

dist-archives: $(DIST_BINS)
	$(GO) run ./hack/dist $(DIST_FLAGS) -out=dist
	@echo "dist: $(VERSION): $$(ls dist/*.tar.gz dist/*.zip | wc -l) archives, dist/sha256sums.txt, dist/krew/"

dist/bin/%: FORCE
	@mkdir -p $(@D)
	CGO_ENABLED=0 GOOS=$(firstword $(subst _, ,$(*D))) GOARCH=$(lastword $(subst _, ,$(*D))) \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/$(basename $(*F))

# The container image, built without a container daemon. make image
# cross-compiles the plugins for the linux platforms of DIST_PLATFORMS (make
# dist's binaries, dist/bin/linux_<arch>/), then hack/image assembles with
# go-containerregistry an image from scratch per platform: the three static
# binaries in /usr/local/bin (kubectl-certs the entrypoint), this machine's CA
# certificates (IMAGE_CA_CERTS), LICENSE, and the user nonroot, 65532:65532, it
# runs as. It writes dist/image/, an OCI image layout of one index of them
# tagged DIST_VERSION with '+' as '-' (a tag cannot hold '+':
# v0.0.0-dev+a83fd6b is tagged v0.0.0-dev-a83fd6b), its tar
# dist/kubecerts-image_$(DIST_VERSION).oci.tar, and the tar's line in
# dist/sha256sums.txt. Reproducible as the archives are. make dist rewrites
# sha256sums.txt: for both, make dist image (in that order, also with -j).
IMAGE_PLATFORMS := $(filter linux/%,$(DIST_PLATFORMS))
IMAGE_CA_CERTS  ?= /etc/ssl/certs/ca-certificates.crt
IMAGE_BINS      := $(foreach p,$(IMAGE_PLATFORMS),$(foreach b,$(BINARIES),dist/bin/$(subst /,_,$(p))/$(b)))
IMAGE_FLAGS      = -version=$(VERSION) -revision=$(GIT_COMMIT) -date=$(BUILD_DATE) -bin=dist/bin \
	-binaries=$(subst $(space),$(comma),$(strip $(BINARIES))) -platforms=$(subst $(space),$(comma),$(strip $(IMAGE_PLATFORMS))) \
	-ca-certs=$(IMAGE_CA_CERTS) -license=LICENSE

image: $(filter dist,$(MAKECMDGOALS))
	@$(MAKE) --no-print-directory dist-image VERSION='$(DIST_VERSION)'

dist-image: $(IMAGE_BINS)
	$(GO) run ./hack/image $(IMAGE_FLAGS) -out=dist

# verify-dist (run by test): make dist, then test/dist checks the archives and
# manifests as krew would, installs the linux/amd64 ones into a krew layout and
# runs them through kubectl, and rebuilds to check reproducibility; and builds
# the image from the same binaries and checks it (config, layers, the binary
# taken out of it runs, a second build is the same). test/dist skips itself
# when run without KUBECERTS_DIST_DIR (as by e2e's ./test/...).
verify-dist:
	@$(MAKE) --no-print-directory dist-test VERSION='$(DIST_VERSION)'

dist-test: dist-archives
	$(GO) run ./hack/image $(IMAGE_FLAGS) -out=dist
	KUBECERTS_DIST_DIR='$(CURDIR)/dist' KUBECERTS_DIST_FLAGS='$(DIST_FLAGS)' KUBECERTS_DIST_LDFLAGS='$(LDFLAGS)' \
	  KUBECERTS_IMAGE_FLAGS='$(IMAGE_FLAGS)' $(GO) test -count=1 -timeout 30m ./test/dist/
