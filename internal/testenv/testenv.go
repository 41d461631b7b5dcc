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

// Package testenv starts the real components a test suite needs from TestMain: a kube-apiserver
// and etcd (envtest) with the Fivesafes CRDs installed, optionally kube-controller-manager (garbage
// collection, namespace deletion and default service accounts), a MinIO server and a Vault dev server, all on loopback with
// state in a temporary directory. A missing binary is an error naming the command that builds it;
// nothing is skipped.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/fivesafes/fivesafes/internal/manifest"
	"github.com/fivesafes/fivesafes/internal/scheme"
	"github.com/fivesafes/fivesafes/internal/stack"
)

// Options choose the components to start. The API server and etcd always start.
type Options struct {
	// ControllerManager starts kube-controller-manager for garbage collection, namespace
	// deletion and each namespace's default ServiceAccount.
	ControllerManager bool
	// MinIO starts a MinIO server.
	MinIO bool
	// Vault starts a Vault dev server with the transit engine mounted at transit/.
	Vault bool
	// Webhooks installs the generated webhook configuration (config/webhook) pointing at a local
	// webhook server; see WebhookServing for where the manager must serve it.
	Webhooks bool
	// UserRoles applies the people's ClusterRoles and their default group bindings (config/rbac).
	UserRoles bool
	// Dir, when set, holds every component's state and is kept when the environment stops, so
	// etcd and MinIO data survive a restart. When empty a temporary directory is used and removed.
	Dir string
}

// Env is a running set of components.
type Env struct {
	// Dir holds every component's state and logs.
	Dir string
	// Envtest is the control plane.
	Envtest *envtest.Environment
	// Config is an administrator's REST config for the API server.
	Config *rest.Config
	// Scheme knows the built-in kinds and the Fivesafes kinds.
	Scheme *runtime.Scheme
	// Client is an administrator's client.
	Client client.Client
	// KubeconfigPath is an administrator's kubeconfig file.
	KubeconfigPath string

	keep bool

	ControllerManager *stack.ControllerManager
	MinIO             *stack.MinIO
	Vault             *stack.Vault
}

// Start starts the components o asks for. On error everything already started is stopped.
func Start(ctx context.Context, o Options) (env *Env, err error) {
	root, err := stack.ModuleRoot()
	if err != nil {
		return nil, err
	}
	assets, err := stack.BinaryDir(stack.ToolKube, "kube-apiserver", "etcd")
	if err != nil {
		return nil, err
	}
	dir, keep := o.Dir, o.Dir != ""
	if keep {
		err = os.MkdirAll(dir, 0o750)
	} else {
		dir, err = os.MkdirTemp("", "fivesafes-testenv-")
	}
	if err != nil {
		return nil, fmt.Errorf("creating test environment directory: %w", err)
	}
	e := &Env{Dir: dir, Scheme: scheme.New(), keep: keep}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()

	e.Envtest = &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                e.Scheme,

		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if o.Webhooks {
		e.Envtest.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "config", "webhook")}}
	}
	if keep {
		e.Envtest.ControlPlane.Etcd = &envtest.Etcd{DataDir: filepath.Join(dir, "etcd")}
	}
	if e.Config, err = e.Envtest.Start(); err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	if e.Client, err = client.New(e.Config, client.Options{Scheme: e.Scheme}); err != nil {
		return nil, fmt.Errorf("creating administrator client: %w", err)
	}
	if e.KubeconfigPath, err = e.writeAdminKubeconfig(); err != nil {
		return nil, err
	}
	if o.UserRoles {
		for _, f := range []string{"user_roles.yaml", "user_bindings.yaml"} {
			objs, err := manifest.ReadFile(filepath.Join(root, "config", "rbac", f))
			if err != nil {
				return nil, err
			}
			if err := manifest.Apply(ctx, e.Client, "fivesafes-testenv", objs); err != nil {
				return nil, err
			}
		}
	}

	if o.ControllerManager {
		e.ControllerManager, err = stack.StartControllerManager(ctx, stack.ControllerManagerOptions{
			Kubeconfig: e.KubeconfigPath,
			LogPath:    filepath.Join(dir, "kube-controller-manager.log"),
			CertDir:    filepath.Join(dir, "kube-controller-manager-certs"),
		})
		if err != nil {
			return nil, err
		}
	}
	if o.MinIO {
		e.MinIO, err = stack.StartMinIO(ctx, stack.MinIOOptions{
			DataDir: filepath.Join(dir, "minio-data"),
			LogPath: filepath.Join(dir, "minio.log"),
		})
		if err != nil {
			return nil, err
		}
	}
	if o.Vault {
		e.Vault, err = stack.StartVault(ctx, stack.VaultOptions{LogPath: filepath.Join(dir, "vault.log")})
		if err != nil {
			return nil, err
		}
		if err := stack.EnableTransit(ctx, e.Vault); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *Env) writeAdminKubeconfig() (string, error) {
	return e.WriteKubeconfig("admin", "fivesafes-admin", "system:masters")
}

// WriteKubeconfig writes Dir/<file>.kubeconfig for a user authenticated by a client certificate
// with the given name and groups, and returns its path. Unlike impersonation this is how a real
// person's kubectl reaches the API server.
func (e *Env) WriteKubeconfig(file, user string, groups ...string) (string, error) {
	u, err := e.Envtest.AddUser(envtest.User{Name: user, Groups: groups}, nil)
	if err != nil {
		return "", fmt.Errorf("adding user %s: %w", user, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("making kubeconfig for %s: %w", user, err)
	}
	path := filepath.Join(e.Dir, file+".kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		return "", fmt.Errorf("writing kubeconfig for %s: %w", user, err)
	}
	return path, nil
}

// Stop stops every component. A temporary state directory is removed unless
// FIVESAFES_KEEP_TESTENV is set, in which case it says where the logs are.
func (e *Env) Stop() {
	if e == nil {
		return
	}
	if e.ControllerManager != nil {
		_ = e.ControllerManager.StopIfRunning()
	}
	if e.MinIO != nil {
		_ = e.MinIO.StopIfRunning()
	}
	if e.Vault != nil {
		_ = e.Vault.StopIfRunning()
	}
	if e.Envtest != nil {
		_ = e.Envtest.Stop()
	}
	if e.keep {
		return
	}
	if os.Getenv("FIVESAFES_KEEP_TESTENV") != "" {
		fmt.Fprintf(os.Stderr, "testenv: state and logs kept in %s\n", e.Dir)
		return
	}
	_ = os.RemoveAll(e.Dir)
}

// StopMinIO stops the MinIO server, keeping its data and port, to test what happens while object
// storage is unreachable.
func (e *Env) StopMinIO() error {
	if e.MinIO == nil {
		return errors.New("minio was not started: set Options.MinIO")
	}
	return e.MinIO.Stop(10 * time.Second)
}

// RestartMinIO starts MinIO again on the same port and data after StopMinIO.
func (e *Env) RestartMinIO(ctx context.Context) error {
	if e.MinIO == nil {
		return errors.New("minio was not started: set Options.MinIO")
	}
	m, err := stack.StartMinIO(ctx, stack.MinIOOptions{
		DataDir:      filepath.Join(e.Dir, "minio-data"),
		LogPath:      filepath.Join(e.Dir, "minio-restarted.log"),
		Port:         e.MinIO.Port,
		RootUser:     e.MinIO.RootUser,
		RootPassword: e.MinIO.RootPassword,
	})
	if err != nil {
		return err
	}
	e.MinIO = m
	return nil
}

// WebhookServing returns where a webhook server must listen, and the directory of its serving
// certificate, for the API server to reach it (with Options.Webhooks).
func (e *Env) WebhookServing() (host string, port int, certDir string) {
	w := e.Envtest.WebhookInstallOptions
	return w.LocalServingHost, w.LocalServingPort, w.LocalServingCertDir
}

// ConfigAs returns a REST config that impersonates user with groups, so the API server applies
// that user's RBAC and admission webhooks see that user.
func (e *Env) ConfigAs(user string, groups ...string) *rest.Config {
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	return cfg
}

// ClientAs returns a client that impersonates user with groups.
func (e *Env) ClientAs(user string, groups ...string) (client.Client, error) {
	c, err := client.New(e.ConfigAs(user, groups...), client.Options{Scheme: e.Scheme})
	if err != nil {
		return nil, fmt.Errorf("creating client for %s: %w", user, err)
	}
	return c, nil
}

// MinIOClient returns an administrator's S3 client for the MinIO server.
func (e *Env) MinIOClient() (*minio.Client, error) {
	if e.MinIO == nil {
		return nil, errors.New("minio was not started: set Options.MinIO")
	}
	c, err := minio.New(e.MinIO.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(e.MinIO.RootUser, e.MinIO.RootPassword, "")})
	if err != nil {
		return nil, fmt.Errorf("creating minio client: %w", err)
	}
	return c, nil
}

// VaultClient returns a root client for the Vault dev server.
func (e *Env) VaultClient() (*vaultapi.Client, error) {
	if e.Vault == nil {
		return nil, errors.New("vault was not started: set Options.Vault")
	}
	return stack.VaultClient(e.Vault)
}

// Main runs a test binary inside an environment: it starts the components, runs the tests and
// stops everything. A start failure ends the run with exit code 1 and the reason, never a skip.
func Main(m *testing.M, o Options, env **Env) {
	MainWith(m, o, env, nil)
}

// MainWith is Main with a setup function run after the components start, e.g. to start a
// manager; its context ends when the tests are done.
func MainWith(m *testing.M, o Options, env **Env, setup func(context.Context, *Env) error) {
	ctx, cancel := context.WithCancel(context.Background())
	e, err := Start(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		cancel()
		os.Exit(1)
	}
	*env = e
	// An interrupted run still stops the control plane, whose processes would outlive it.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-signals; ok {
			cancel()
			e.Stop()
			os.Exit(130)
		}
	}()
	if setup != nil {
		if err := setup(ctx, e); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: setting up the suite: %v\n", err)
			cancel()
			e.Stop()
			os.Exit(1)
		}
	}
	code := m.Run()
	signal.Stop(signals)
	cancel()
	e.Stop()
	os.Exit(code)
}
