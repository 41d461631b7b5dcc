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

// Package devstack runs the whole of Fivesafes on one machine for people to try and develop
// against: kube-apiserver, etcd and kube-controller-manager, MinIO and Vault on 127.0.0.1, the
// manager, the sample catalogue with synthetic data, and kubeconfigs for each role.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/fivesafes/fivesafes/internal/manager"
	"github.com/fivesafes/fivesafes/internal/manifest"
	"github.com/fivesafes/fivesafes/internal/testenv"
)

// Options configure the local stack.
type Options struct {
	// Dir holds state (etcd and MinIO data, logs, kubeconfigs); it survives restarts.
	Dir string
	// Samples is the directory of sample manifests to apply.
	Samples string
	// KubectlDir, when set, is where a kubectl binary was built, for the printed commands.
	KubectlDir string
	// Out receives the banner.
	Out io.Writer
}

// Persona is a person in one role, with a kubeconfig of their own.
type Persona struct {
	File, User string
	Groups     []string
	Role       string
}

// Personas are the people the local stack makes kubeconfigs for.
var Personas = []Persona{
	{File: "committee-alice", User: "alice@committee.example.org", Groups: []string{"fivesafes:committee"}, Role: "data access committee member"},
	{File: "committee-bob", User: "bob@committee.example.org", Groups: []string{"fivesafes:committee"}, Role: "data access committee member"},
	{File: "researcher-amara", User: "amara.okafor@cpccg.example.nhs.uk", Groups: []string{"fivesafes:researchers"}, Role: "approved researcher"},
	{File: "checker-carol", User: "carol@outputs.example.org", Groups: []string{"fivesafes:output-checkers"}, Role: "output checker"},
	{File: "checker-dan", User: "dan@outputs.example.org", Groups: []string{"fivesafes:output-checkers"}, Role: "output checker"},
	{File: "auditor-erin", User: "erin@audit.example.org", Groups: []string{"fivesafes:auditors"}, Role: "auditor"},
}

// Run starts everything, prints how to use it and blocks until ctx ends, then stops everything.
func Run(ctx context.Context, o Options) error {
	log := ctrl.LoggerFrom(ctx)
	if o.Out == nil {
		o.Out = os.Stdout
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("resolving state directory: %w", err)
	}
	fmt.Fprintf(o.Out, "==> Starting kube-apiserver, etcd, kube-controller-manager, MinIO and Vault (state in %s)\n", dir)
	env, err := testenv.Start(ctx, testenv.Options{Dir: dir, ControllerManager: true, MinIO: true, Vault: true, Webhooks: true, UserRoles: true})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(o.Out, "==> Stopping")
		env.Stop()
	}()

	kubeconfigs := map[string]string{"admin": env.KubeconfigPath}
	for _, p := range Personas {
		path, err := env.WriteKubeconfig(p.File, p.User, p.Groups...)
		if err != nil {
			return err
		}
		kubeconfigs[p.File] = path
	}
	if err := ensureNamespace(ctx, env, "fivesafes-system"); err != nil {
		return err
	}

	fmt.Fprintln(o.Out, "==> Loading the sample catalogue and synthetic data into MinIO")
	if err := SeedCatalogue(ctx, env); err != nil {
		return err
	}

	mgrOpts := manager.DefaultOptions()
	mgrOpts.MetricsAddr = "127.0.0.1:8080"
	mgrOpts.MetricsSecure = false
	mgrOpts.ProbeAddr = "127.0.0.1:8081"
	mgrOpts.WebhookHost, mgrOpts.WebhookPort, mgrOpts.WebhookCertDir = env.WebhookServing()
	mgrOpts.Storage.Endpoint, mgrOpts.Storage.AccessKey, mgrOpts.Storage.SecretKey = env.MinIO.Endpoint, env.MinIO.RootUser, env.MinIO.RootPassword
	mgrOpts.Vault.Address, mgrOpts.Vault.Token = env.Vault.Addr, env.Vault.RootToken
	mgrCtx, stopManager := context.WithCancel(ctx)
	mgrErr := make(chan error, 1)
	go func() { mgrErr <- manager.Run(mgrCtx, env.Config, mgrOpts) }()
	defer func() {
		// Stop the manager before the components it talks to.
		stopManager()
		if err := <-mgrErr; err != nil && !errors.Is(err, context.Canceled) {
			log.Error(err, "Manager stopped with an error")
		}
	}()

	objs, err := manifest.ReadDir(o.Samples)
	if err != nil {
		return err
	}
	if err := whenWebhooksAnswer(ctx, func() error { return manifest.Apply(ctx, env.Client, "fivesafes-dev", objs) }); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "==> Applied %d sample objects from %s\n", len(objs), o.Samples)
	if err := applyApprovals(ctx, env, filepath.Join(o.Samples, "approvals")); err != nil {
		return err
	}

	printBanner(o, dir, kubeconfigs)
	select {
	case <-ctx.Done():
		return nil
	case err := <-mgrErr:
		mgrErr <- err // for the deferred wait
		if ctx.Err() != nil {
			// Ctrl-C stopped the manager as it stopped everything else.
			return nil
		}
		if err == nil {
			err = errors.New("the manager stopped unexpectedly")
		}
		log.Error(err, "Manager stopped")
		return err
	}
}

// applyApprovals creates the sample approvals as the committee members, in turn, once the
// manager's webhooks answer: an approval counts only when its approver is stamped from the
// member's own authenticated request.
func applyApprovals(ctx context.Context, env *testenv.Env, dir string) error {
	objs, err := manifest.ReadDir(dir)
	if err != nil {
		return err
	}
	var members []Persona
	for _, p := range Personas {
		if len(p.Groups) > 0 && p.Groups[0] == "fivesafes:committee" {
			members = append(members, p)
		}
	}
	for i, obj := range objs {
		p := members[i%len(members)]
		c, err := env.ClientAs(p.User, p.Groups...)
		if err != nil {
			return err
		}
		// Members may create approvals but never change them, so this is a create, not an apply.
		create := func() error {
			err := c.Create(ctx, obj.DeepCopy())
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		}
		if err := whenWebhooksAnswer(ctx, create); err != nil {
			return fmt.Errorf("creating sample approval %s as %s: %w", obj.GetName(), p.User, err)
		}
	}
	return nil
}

// whenWebhooksAnswer runs write, retrying for up to a minute while the manager's webhook server
// is still starting.
func whenWebhooksAnswer(ctx context.Context, write func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := write()
		if err == nil || time.Now().After(deadline) || !isWebhookUnavailable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// isWebhookUnavailable reports whether err says the API server could not reach a webhook yet.
func isWebhookUnavailable(err error) bool {
	return strings.Contains(err.Error(), "failed calling webhook")
}

func ensureNamespace(ctx context.Context, env *testenv.Env, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

func printBanner(o Options, dir string, kubeconfigs map[string]string) {
	kubectl := "kubectl"
	if _, err := exec.LookPath("kubectl"); err != nil && o.KubectlDir != "" {
		kubectl = filepath.Join(o.KubectlDir, "kubectl")
	}
	fmt.Fprintf(o.Out, `
Fivesafes is running on 127.0.0.1 (started %s).

  kubeconfig (cluster admin):  %s
  kubeconfigs for each role:   %s/<role>.kubeconfig
`, time.Now().Format(time.Kitchen), kubeconfigs["admin"], dir)
	for _, p := range Personas {
		fmt.Fprintf(o.Out, "      %-18s %s (%s)\n", p.File, p.User, p.Role)
	}
	fmt.Fprintf(o.Out, `
  manager metrics:  http://127.0.0.1:8080/metrics    health: http://127.0.0.1:8081/healthz

Try, in another terminal:

  export KUBECONFIG=%s
  %s get daa,ws,datasets,optoutlists
  go run ./cmd/fivesafes agreement status nic-38002-s3k0v
  KUBECONFIG=%s go run ./cmd/fivesafes agreement approve nic-38002-s3k0v --comment "Approved at the November meeting"

Press Ctrl-C to stop everything. State is kept in %s for the next run.
`, kubeconfigs["admin"], kubectl, kubeconfigs["committee-alice"], dir)
}
