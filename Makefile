# Fivesafes — a trusted research environment control plane for Kubernetes.
#
# Tools are built from source through the Go module proxy into a cache outside the clone
# ($XDG_CACHE_HOME/fivesafes or ~/.cache/fivesafes) by hack/tools.sh, which pins every version.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

TOOLS := hack/tools.sh
tool = $(shell $(TOOLS) path $(1))/$(2)

CONTROLLER_GEN = $(call tool,controller-gen,controller-gen)
GOLANGCI_LINT = $(call tool,golangci-lint,golangci-lint)
HELM = $(call tool,helm,helm)
KUBEBUILDER_ASSETS = $(shell $(TOOLS) path kube)
FIVESAFES_MINIO_DIR = $(shell $(TOOLS) path minio)
FIVESAFES_VAULT_DIR = $(shell $(TOOLS) path vault)
FIVESAFES_HELM_DIR = $(shell $(TOOLS) path helm)
FIVESAFES_KUBECTL_DIR = $(shell $(TOOLS) path kubectl)
TEST_ENV = KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) FIVESAFES_MINIO_DIR=$(FIVESAFES_MINIO_DIR) FIVESAFES_VAULT_DIR=$(FIVESAFES_VAULT_DIR) \
	FIVESAFES_HELM_DIR=$(FIVESAFES_HELM_DIR) FIVESAFES_KUBECTL_DIR=$(FIVESAFES_KUBECTL_DIR)

GO_TEST_FLAGS ?= -count=1 -timeout=30m
BENCH ?= .
BENCH_FLAGS ?= -run='^$$' -benchtime=3x -count=1 -timeout=30m
PKGS ?= ./...
# test-race runs every package but the image builder, whose layer compression takes five minutes
# under the race detector.
RACE_PKGS ?= $(shell go list ./... | grep -v /hack/image$$)

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: tool-controller-gen ## Generate CRDs and RBAC from the API types and controller markers.
	$(CONTROLLER_GEN) rbac:roleName=fivesafes-manager crd webhook paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac output:webhook:artifacts:config=config/webhook

.PHONY: generate
generate: tool-controller-gen ## Generate deepcopy functions for the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: chart
chart: ## Copy the generated CRDs, RBAC and webhook manifests into the Helm chart and regenerate its values table.
	go run ./hack/chart

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: tool-golangci-lint ## Run golangci-lint (configuration in .golangci.yml).
	$(GOLANGCI_LINT) run ./...

.PHONY: tidy
tidy: ## Tidy go.mod and go.sum.
	go mod tidy

##@ Test

.PHONY: test
test: tools-test ## Run every test: unit, Rego, fuzz seed corpora, and suites on a real kube-apiserver, etcd, MinIO and Vault.
	$(TEST_ENV) go test $(GO_TEST_FLAGS) $(PKGS)

.PHONY: test-race
test-race: tools-test ## Run the tests under the race detector, all but the image builder's (needs cgo and a C compiler).
	$(TEST_ENV) go test -race -p 1 $(GO_TEST_FLAGS) $(RACE_PKGS)

.PHONY: test-e2e
test-e2e: tools-test ## Run the end-to-end user journeys on the local stack.
	$(TEST_ENV) go test $(GO_TEST_FLAGS) -tags e2e ./test/e2e/...

.PHONY: bench
bench: tools-test ## Run the benchmarks; each reports its ratio against a baseline measured in the same run.
	$(TEST_ENV) go test $(BENCH_FLAGS) -bench='$(BENCH)' $(PKGS)

.PHONY: verify
verify: manifests generate chart fmt tidy vet lint helm-lint ## Regenerate everything and fail if the tree changed; lint and vet.
	@if [ -n "$$(git status --porcelain)" ]; then \
		echo "make verify: generated or formatted files differ from the commit:"; \
		git status --porcelain; git --no-pager diff --stat; exit 1; \
	fi

##@ Build

.PHONY: build
build: ## Build the manager and the CLI into bin/ (the CLI also as kubectl-fivesafes).
	go build -trimpath -o bin/manager ./cmd/manager
	go build -trimpath -o bin/fivesafes ./cmd/fivesafes
	cp bin/fivesafes bin/kubectl-fivesafes

.PHONY: run
run: ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd/manager --leader-elect=false --metrics-secure=false --metrics-bind-address=127.0.0.1:8080

.PHONY: dev
dev: tools-dev ## Build what is missing and run the whole system locally on 127.0.0.1 (Ctrl-C stops it).
	$(TEST_ENV) FIVESAFES_KUBECTL_DIR=$(shell $(TOOLS) path kubectl) go run ./hack/dev

.PHONY: helm-lint
helm-lint: tool-helm ## Lint the Helm chart.
	$(HELM) lint --strict charts/fivesafes

.PHONY: image
image: ## Build the manager image, reproducibly and without Docker, as an OCI layout and a tarball in bin/image.
	go run ./hack/image -out bin/image

##@ Tools

.PHONY: tools
tools: ## Build every pinned tool into the cache (reused when present).
	$(TOOLS) all

.PHONY: tools-test
tools-test: ## Build the components the test suites use: control plane, kubectl, helm, MinIO, Vault.
	$(TOOLS) kube kubectl helm minio vault

.PHONY: tools-dev
tools-dev: ## Build the components of the local stack.
	$(TOOLS) kube kubectl minio vault

tool-%:
	@$(TOOLS) $*
