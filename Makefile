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

.PHONY: all build install test unit e2e bench lint verify generate tools clean test-cluster-up test-cluster-down

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

test: lint unit e2e

# Unit tests: everything but the e2e suite under test/.
unit:
	$(GO) test $(GO_TEST_FLAGS) $$($(GO) list ./... | grep -v '^$(MODULE)/test/')

# e2e tests against a real etcd, kube-apiserver and kube-controller-manager;
# hack/build-tools.sh installs etcd and builds the pinned binaries once.
e2e: tools
	KUBECERTS_TOOLS_BIN=$$(./hack/build-tools.sh) $(GO) test $(GO_TEST_FLAGS) -timeout $(E2E_TIMEOUT) ./test/...

tools:
	./hack/build-tools.sh >/dev/null

# A cluster by hand: make test-cluster-up; eval "$$(hack/test-cluster.sh env)".
test-cluster-up:
	./hack/test-cluster.sh up

test-cluster-down:
	./hack/test-cluster.sh down

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

generate:
	$(GO) run k8s.io/code-generator/cmd/deepcopy-gen@$(CODEGEN_VERSION) \
	  --output-file zz_generated.deepcopy.go --go-header-file hack/boilerplate.go.txt ./shared/api/v1alpha1

clean:
	rm -rf bin dist
