/*
Copyright 2026 The Fivesafes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ControllerManagerOptions configure kube-controller-manager.
type ControllerManagerOptions struct {
	// Kubeconfig is a kubeconfig file with cluster-admin rights on the API server.
	Kubeconfig string
	// LogPath receives the process's output.
	LogPath string
	// Port is the secure serving port on 127.0.0.1 (health); 0 picks a free one.
	Port int
	// CertDir holds the self-signed serving certificate.
	CertDir string
}

// ControllerManager is a running kube-controller-manager limited to the controllers an operator
// test needs and a bare API server lacks: the garbage collector (owner references), namespace
// deletion, and the service account controller, which makes every new namespace's "default"
// ServiceAccount as a real cluster does (the workspace controller races it).
type ControllerManager struct {
	*Process
}

// StartControllerManager starts kube-controller-manager and waits until it is healthy.
func StartControllerManager(ctx context.Context, o ControllerManagerOptions) (*ControllerManager, error) {
	dir, err := BinaryDir(ToolKube, "kube-controller-manager")
	if err != nil {
		return nil, err
	}
	if o.Port == 0 {
		if o.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(o.CertDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating controller manager cert dir: %w", err)
	}
	args := []string{
		"--kubeconfig=" + o.Kubeconfig,
		"--authentication-kubeconfig=" + o.Kubeconfig,
		"--authorization-kubeconfig=" + o.Kubeconfig,
		"--authorization-always-allow-paths=/healthz,/readyz,/livez",
		"--controllers=garbagecollector,namespace,serviceaccount",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", o.Port),
		"--cert-dir=" + o.CertDir,
		"--concurrent-gc-syncs=5",
		"--concurrent-namespace-syncs=5",
	}
	p, err := startProcess("kube-controller-manager", filepath.Join(dir, "kube-controller-manager"), args, nil, o.LogPath)
	if err != nil {
		return nil, err
	}
	if err := waitHTTPS(ctx, p, fmt.Sprintf("https://%s/healthz", loopback(o.Port)), 60*time.Second); err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	return &ControllerManager{Process: p}, nil
}
