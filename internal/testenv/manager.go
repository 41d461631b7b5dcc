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

package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/fivesafes/fivesafes/internal/manager"
)

// ManagerOptions returns manager options for this environment: no leader election, no metrics
// or probe ports, the webhook server where the API server expects it, and the environment's MinIO
// and Vault.
func (e *Env) ManagerOptions() manager.Options {
	o := manager.DefaultOptions()
	o.LeaderElection = false
	o.MetricsAddr = "0"
	o.ProbeAddr = "0"
	o.WebhookHost, o.WebhookPort, o.WebhookCertDir = e.WebhookServing()
	if e.MinIO != nil {
		o.Storage.Endpoint, o.Storage.AccessKey, o.Storage.SecretKey = e.MinIO.Endpoint, e.MinIO.RootUser, e.MinIO.RootPassword
	}
	if e.Vault != nil {
		o.Vault.Address, o.Vault.Token, o.Vault.TransitPath = e.Vault.Addr, e.Vault.RootToken, "transit"
	}
	o.Audit.RetentionDays = 1
	o.Audit.FlushInterval = time.Second
	return o
}

// EnsureNamespace creates a namespace unless it exists.
func (e *Env) EnsureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// StartManager runs the real manager — every controller and webhook — against the environment
// until ctx ends, logging to Dir/manager.log, and waits until its webhook server listens.
func (e *Env) StartManager(ctx context.Context, o manager.Options) error {
	logFile, err := os.Create(filepath.Join(e.Dir, "manager.log"))
	if err != nil {
		return fmt.Errorf("creating manager log: %w", err)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile), zap.UseDevMode(true)))
	if err := e.EnsureNamespace(ctx, o.LeaderElectionNamespace); err != nil {
		return err
	}
	mgr, err := manager.New(e.Config, o)
	if err != nil {
		return err
	}
	if err := manager.Setup(mgr, o); err != nil {
		return err
	}
	errs := make(chan error, 1)
	go func() { errs <- mgr.Start(ctx) }()
	if o.WebhookHost == "" {
		return nil
	}
	// The API server refuses writes (failurePolicy Fail) until the webhook server answers.
	addr := net.JoinHostPort(o.WebhookHost, strconv.Itoa(o.WebhookPort))
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errs:
			return fmt.Errorf("manager stopped: %w", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("webhook server did not listen on %s", addr)
}
