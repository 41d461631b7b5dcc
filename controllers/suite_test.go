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

package controllers_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/fivesafes/fivesafes/internal/manager"
	"github.com/fivesafes/fivesafes/internal/testenv"
)

var (
	env *testenv.Env
	// clock is the manager's clock; tests move it instead of sleeping.
	clock = clocktesting.NewFakePassiveClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
)

func TestMain(m *testing.M) {
	testenv.MainWith(m, testenv.Options{Webhooks: true, UserRoles: true, ControllerManager: true, MinIO: true, Vault: true}, &env, startManager)
}

// startManager runs the real manager — controllers and webhooks — against the environment.
func startManager(ctx context.Context, e *testenv.Env) error {
	logFile, err := os.Create(filepath.Join(e.Dir, "manager.log"))
	if err != nil {
		return err
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile), zap.UseDevMode(true)))
	host, port, certDir := e.WebhookServing()
	o := manager.DefaultOptions()
	o.LeaderElection = false
	o.MetricsAddr = "0"
	o.ProbeAddr = "0"
	o.WebhookHost, o.WebhookPort, o.WebhookCertDir = host, port, certDir
	o.Clock = clock
	o.Storage = manager.StorageOptions{Endpoint: e.MinIO.Endpoint, AccessKey: e.MinIO.RootUser, SecretKey: e.MinIO.RootPassword}
	o.Vault = manager.VaultOptions{Address: e.Vault.Addr, Token: e.Vault.RootToken, TransitPath: "transit"}
	o.Audit.RetentionDays = 1
	o.Audit.FlushInterval = time.Second
	mgr, err := manager.New(e.Config, o)
	if err != nil {
		return err
	}
	if err := manager.Setup(mgr, o); err != nil {
		return err
	}
	errs := make(chan error, 1)
	go func() { errs <- mgr.Start(ctx) }()
	// Wait for the webhook server: the API server refuses writes (failurePolicy Fail) until then.
	addr := net.JoinHostPort(host, strconv.Itoa(port))
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
