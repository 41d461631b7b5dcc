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
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fivesafes/fivesafes/internal/testname"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// With --webhook-cert-rotation the manager issues its own CA and serving certificate for the
// webhook Service, writes them where the webhook server reads them, keeps them in the Secret and
// puts the CA into both webhook configurations; until then it reports the webhooks not ready.
func TestWebhookCertRotation(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`, which builds the control plane with `make tools`")
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "fivesafes-system"
	o := DefaultOptions().WebhookCerts
	o.Rotation = true
	// Controller names are unique in a process, and the rotation's is its Secret's.
	o.Secret = testname.Fresh(t, o.Secret)
	if err := o.validate(ns); err != nil {
		t.Fatal(err)
	}
	none := admissionregistrationv1.SideEffectClassNone
	ignore := admissionregistrationv1.Ignore
	hook := func(name string) (admissionregistrationv1.WebhookClientConfig, admissionregistrationv1.RuleWithOperations) {
		path := "/" + name
		return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: ns, Name: o.Service, Path: &path}},
			admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"fivesafes.io"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"outputreviews"}},
			}
	}
	mcc, mrule := hook("stamp-outputreview")
	vcc, vrule := hook("validate-outputreview")
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: o.Secret}},
		&admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: o.Mutating},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "stamp.outputreviews.fivesafes.io", ClientConfig: mcc,
				Rules: []admissionregistrationv1.RuleWithOperations{mrule}, SideEffects: &none, FailurePolicy: &ignore, AdmissionReviewVersions: []string{"v1"}}},
		},
		&admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: o.Validating},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "validate.outputreviews.fivesafes.io", ClientConfig: vcc,
				Rules: []admissionregistrationv1.RuleWithOperations{vrule}, SideEffects: &none, FailurePolicy: &ignore, AdmissionReviewVersions: []string{"v1"}}},
		},
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: Scheme(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ready, err := addCertRotation(mgr, o, ns, dir)
	if err != nil {
		t.Fatal(err)
	}
	check := webhooksReady(mgr, ready)
	if err := check(httptest.NewRequest("GET", "/readyz", nil)); err == nil {
		t.Fatal("the webhooks report ready before their certificate exists")
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the manager stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the certificate was never put in place")
	}

	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.Secret}, secret); err != nil {
		t.Fatal(err)
	}
	caPEM := secret.Data["ca.crt"]
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("the Secret holds no CA certificate: keys %v", keys(secret.Data))
	}
	served, err := os.ReadFile(filepath.Join(dir, "tls.crt"))
	if err != nil {
		t.Fatalf("the serving certificate was not written for the webhook server: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tls.key")); err != nil {
		t.Fatalf("the serving key was not written: %v", err)
	}
	block, _ := pem.Decode(served)
	if block == nil {
		t.Fatal("tls.crt is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: o.Service + "." + ns + ".svc", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("the serving certificate does not verify for the Service: %v", err)
	}

	// The CA reaches both configurations (the injection may land just after the files).
	deadline := time.Now().Add(time.Minute)
	for {
		m := &admissionregistrationv1.MutatingWebhookConfiguration{}
		v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: o.Mutating}, m); err != nil {
			t.Fatal(err)
		}
		if err := c.Get(ctx, client.ObjectKey{Name: o.Validating}, v); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(m.Webhooks[0].ClientConfig.CABundle, caPEM) && bytes.Equal(v.Webhooks[0].ClientConfig.CABundle, caPEM) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the CA was not injected into both webhook configurations")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
