#!/usr/bin/env bash
# Copyright 2026 The Fivesafes Authors.
# SPDX-License-Identifier: Apache-2.0
#
# Builds the pinned tools Fivesafes needs from source through the Go module proxy into a cache
# outside the clone, so that CI runs and later sessions reuse them. No prebuilt downloads.
#
#   hack/tools.sh TOOL...      build (or reuse) each tool and print one progress line per tool
#   hack/tools.sh path TOOL    print the directory that holds TOOL's binaries
#
# Tools: kube (kube-apiserver, kube-controller-manager, etcd), kubectl, minio, vault,
# controller-gen, golangci-lint, helm, all.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${FIVESAFES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fivesafes}

# Pinned versions. The Makefile reads these through `hack/tools.sh path`, so this is the only
# place a version is written.
KUBE_VERSION=1.36.3
ETCD_VERSION=3.6.8
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
VAULT_VERSION=1.21.0
CONTROLLER_GEN_VERSION=v0.21.0
GOLANGCI_LINT_VERSION=v2.15.0
HELM_VERSION=v3.22.0

dir_for() {
  case "$1" in
    kube) echo "$cache/bin/kube-$KUBE_VERSION-etcd-$ETCD_VERSION" ;;
    kubectl) echo "$cache/bin/kubectl-$KUBE_VERSION" ;;
    minio) echo "$cache/bin/minio-$MINIO_VERSION" ;;
    vault) echo "$cache/bin/vault-$VAULT_VERSION" ;;
    controller-gen) echo "$cache/bin/controller-gen-$CONTROLLER_GEN_VERSION" ;;
    golangci-lint) echo "$cache/bin/golangci-lint-$GOLANGCI_LINT_VERSION" ;;
    helm) echo "$cache/bin/helm-$HELM_VERSION-k$KUBE_VERSION" ;;
    *) echo "hack/tools.sh: unknown tool '$1' (want kube, kubectl, minio, vault, controller-gen, golangci-lint, helm)" >&2; return 2 ;;
  esac
}

binaries_for() {
  case "$1" in
    kube) echo "kube-apiserver kube-controller-manager etcd" ;;
    *) echo "$1" ;;
  esac
}

have() {
  local d b
  d=$(dir_for "$1")
  for b in $(binaries_for "$1"); do
    [ -x "$d/$b" ] || return 1
  done
}

# build_into DIR CMD... runs CMD with OUT=a temporary directory and moves it into place only when
# every binary was built, so an interrupted build never leaves a half-filled cache entry.
build_into() {
  local d=$1 tmp
  shift
  mkdir -p "$(dirname "$d")"
  tmp=$(mktemp -d "$d.tmp.XXXXXX")
  if OUT=$tmp "$@"; then
    rm -rf "$d"
    mv "$tmp" "$d"
  else
    rm -rf "$tmp"
    return 1
  fi
}

build_kube() {
  cd "$root/hack/tools/kube"
  go build -trimpath -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -o "$OUT/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
  go build -trimpath -o "$OUT/etcd" ./etcd
}

build_kubectl() {
  cd "$root/hack/tools/kube"
  go build -trimpath -o "$OUT/kubectl" k8s.io/kubernetes/cmd/kubectl
}

build_vault() {
  cd "$root/hack/tools/vault"
  go build -trimpath -o "$OUT/vault" github.com/hashicorp/vault
}

go_install() {
  GOBIN=$OUT go install -trimpath "$1"
}

build_minio() { go_install "github.com/minio/minio@$MINIO_VERSION"; }
build_controller-gen() { go_install "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_GEN_VERSION"; }
build_golangci-lint() { go_install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"; }
# helm's release builds are stamped with the Kubernetes version helm templates and lints for when
# it has no cluster to ask and is not given --kube-version; without the stamp it assumes 1.20,
# older than the chart allows. This build is stamped with the version the dev stack runs.
build_helm() {
  local major=${KUBE_VERSION%%.*} minor=${KUBE_VERSION#*.}
  minor=${minor%%.*}
  local ldflags="" pkg
  for pkg in chartutil lint/rules; do
    ldflags+=" -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/$pkg.k8sVersionMinor=$minor"
  done
  GOBIN=$OUT go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

cold_estimate() {
  case "$1" in
    kube) echo "about 8 minutes" ;;
    minio) echo "about 7 minutes" ;;
    vault) echo "about 13 minutes" ;;
    *) echo "a minute or two" ;;
  esac
}

ensure() {
  local t=$1 d start
  d=$(dir_for "$t")
  if have "$t"; then
    echo "==> $t: cached in $d"
    return 0
  fi
  echo "==> $t: building from source into $d (cold: $(cold_estimate "$t"))"
  start=$(date +%s)
  if ! (build_into "$d" "build_$t"); then
    echo "==> $t: build failed; see the output above. The Go module proxy must be reachable." >&2
    return 1
  fi
  echo "==> $t: built in $(($(date +%s) - start)) s"
}

case "${1:-}" in
  path)
    [ $# -eq 2 ] || { echo "usage: hack/tools.sh path TOOL" >&2; exit 2; }
    dir_for "$2"
    ;;
  "" | -h | --help)
    sed -n '5,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    ;;
  *)
    tools=("$@")
    [ "$1" = all ] && tools=(controller-gen golangci-lint helm kube kubectl minio vault)
    for t in "${tools[@]}"; do
      dir_for "$t" >/dev/null
      ensure "$t"
    done
    ;;
esac
