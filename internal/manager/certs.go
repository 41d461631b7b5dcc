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

package manager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations;validatingwebhookconfigurations,verbs=get;list;watch;update

// WebhookCertOptions say whether the manager issues and rotates its own webhook serving
// certificate, and where it keeps it and announces its CA.
type WebhookCertOptions struct {
	// Rotation turns on the manager's own CA and serving certificate.
	Rotation bool
	// Secret names the Secret, in the manager's namespace, holding the CA and certificate.
	Secret string
	// Service is the webhook Service; the certificate is for <service>.<namespace>.svc.
	Service string
	// Mutating and Validating name the webhook configurations whose caBundle is kept current.
	Mutating, Validating string
}

// defaultWebhookCertDir is controller-runtime's default certificate directory.
var defaultWebhookCertDir = filepath.Join("/tmp", "k8s-webhook-server", "serving-certs")

func (o *WebhookCertOptions) validate(namespace string) error {
	if !o.Rotation {
		return nil
	}
	switch {
	case namespace == "":
		return errors.New("--webhook-cert-rotation needs --leader-election-namespace, where the certificate Secret lives")
	case o.Secret == "" || o.Service == "" || o.Mutating == "" || o.Validating == "":
		return errors.New("--webhook-cert-rotation needs --webhook-cert-secret, --webhook-service, --mutating-webhook-configuration and --validating-webhook-configuration")
	}
	return nil
}

// addCertRotation makes the manager keep its webhook certificate in the Secret, write it to
// certDir and inject its CA into both webhook configurations. The returned channel closes when
// the certificate is in place; the webhook server must not start before.
func addCertRotation(mgr ctrl.Manager, o WebhookCertOptions, namespace, certDir string) (<-chan struct{}, error) {
	ready := make(chan struct{})
	key := types.NamespacedName{Namespace: namespace, Name: o.Secret}
	// The manager writes the certificate files itself rather than waiting for the kubelet to
	// refresh a mounted Secret, which can take a minute after every rotation.
	if err := mgr.Add(&certWriter{reader: mgr.GetAPIReader(), key: key, dir: certDir}); err != nil {
		return nil, fmt.Errorf("adding the webhook certificate writer: %w", err)
	}
	err := rotator.AddRotator(mgr, &rotator.CertRotator{
		// The controller is named after the Secret it keeps, in its logs and metrics.
		ControllerName: o.Secret,
		SecretKey:      key,
		CertDir:        certDir,
		CAName:         "fivesafes-webhook-ca",
		CAOrganization: "Fivesafes",
		DNSName:        fmt.Sprintf("%s.%s.svc", o.Service, namespace),
		ExtraDNSNames:  []string{o.Service, fmt.Sprintf("%s.%s", o.Service, namespace), fmt.Sprintf("%s.%s.svc.cluster.local", o.Service, namespace)},
		IsReady:        ready,
		Webhooks: []rotator.WebhookInfo{
			{Name: o.Mutating, Type: rotator.Mutating},
			{Name: o.Validating, Type: rotator.Validating},
		},
		FieldOwner: "fivesafes-manager",
		// Every replica serves webhooks, so every replica keeps its certificate current.
		RequireLeaderElection:  false,
		EnableReadinessCheck:   true,
		RotationCheckFrequency: 12 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("adding webhook certificate rotation: %w", err)
	}
	return ready, nil
}

// webhooksReady reports ready once ready has closed and then the webhook server has started.
func webhooksReady(mgr ctrl.Manager, ready <-chan struct{}) healthz.Checker {
	return func(req *http.Request) error {
		select {
		case <-ready:
			return mgr.GetWebhookServer().StartedChecker()(req)
		default:
			return errors.New("the webhook serving certificate is not in place yet")
		}
	}
}

// certWriter copies the serving certificate and key from the Secret into the webhook server's
// certificate directory whenever they change. Every replica runs it.
type certWriter struct {
	reader client.Reader
	key    types.NamespacedName
	dir    string
}

// NeedLeaderElection is false: every replica serves webhooks.
func (w *certWriter) NeedLeaderElection() bool { return false }

// Start polls the Secret, every second until the files are written and every half minute after.
func (w *certWriter) Start(ctx context.Context) error {
	written := false
	for {
		ok, err := w.sync(ctx)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Writing the webhook certificate", "secret", w.key)
		}
		written = written || ok
		wait := time.Second
		if written {
			wait = 30 * time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// sync writes tls.crt and tls.key when the Secret holds both, and says whether it does.
func (w *certWriter) sync(ctx context.Context) (bool, error) {
	secret := &corev1.Secret{}
	if err := w.reader.Get(ctx, w.key, secret); err != nil {
		return false, fmt.Errorf("reading secret %s: %w", w.key, err)
	}
	crt, key := secret.Data[corev1.TLSCertKey], secret.Data[corev1.TLSPrivateKeyKey]
	if len(crt) == 0 || len(key) == 0 {
		return false, nil
	}
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return false, fmt.Errorf("creating %s: %w", w.dir, err)
	}
	// The key first, so that a server reloading on the certificate's change finds its key.
	for _, f := range []struct {
		name string
		data []byte
	}{{corev1.TLSPrivateKeyKey, key}, {corev1.TLSCertKey, crt}} {
		if err := writeIfChanged(filepath.Join(w.dir, f.name), f.data); err != nil {
			return false, err
		}
	}
	return true, nil
}

// writeIfChanged replaces path with data atomically unless it already holds data.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) { //nolint:gosec // a file in the webhook certificate directory
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
