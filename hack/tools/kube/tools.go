//go:build tools

// Package kubetools pins the Kubernetes control-plane commands the test harness and the local
// stack run: kube-apiserver, kube-controller-manager and kubectl.
package kubetools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
