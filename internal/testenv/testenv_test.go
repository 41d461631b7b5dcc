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
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

var env *Env

func TestMain(m *testing.M) {
	Main(m, Options{ControllerManager: true, MinIO: true, Vault: true}, &env)
}

// The CRDs are installed and served.
func TestCRDsServed(t *testing.T) {
	ctx := context.Background()
	var list fivesafesv1alpha1.DataAccessAgreementList
	if err := env.Client.List(ctx, &list); err != nil {
		t.Fatalf("listing agreements: %v", err)
	}
}

// kube-controller-manager deletes a namespace, which a bare API server never finishes.
func TestNamespaceDeletion(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "testenv-ns-deletion"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: ns.Name}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatalf("creating configmap: %v", err)
	}
	if err := env.Client.Delete(ctx, ns); err != nil {
		t.Fatalf("deleting namespace: %v", err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("namespace was not deleted by kube-controller-manager: %v", err)
	}
}

// An impersonated user with no bindings is refused by RBAC.
func TestImpersonationIsAuthorised(t *testing.T) {
	ctx := context.Background()
	c, err := env.ClientAs("alice@example.org", "researchers")
	if err != nil {
		t.Fatal(err)
	}
	err = c.List(ctx, &corev1.SecretList{}, client.InNamespace("default"))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("listing secrets as an unbound user: got %v, want Forbidden", err)
	}
	sar := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: "default"},
	}}
	if err := c.Create(ctx, sar); err != nil {
		t.Fatalf("self subject access review: %v", err)
	}
	if sar.Status.Allowed {
		t.Fatal("an unbound user is allowed to read secrets")
	}
}

// MinIO stores and returns an object.
func TestMinIORoundTrip(t *testing.T) {
	ctx := context.Background()
	mc, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	// A locked bucket cannot be removed: each run makes its own.
	bucket := fmt.Sprintf("testenv-%d", time.Now().UnixNano())
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatalf("making bucket: %v", err)
	}
	body := []byte("hello, safe setting")
	if _, err := mc.PutObject(ctx, bucket, "a.txt", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("putting object: %v", err)
	}
	obj, err := mc.GetObject(ctx, bucket, "a.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(obj); err != nil {
		t.Fatalf("reading object: %v", err)
	}
	if !bytes.Equal(got.Bytes(), body) {
		t.Fatalf("object = %q, want %q", got.Bytes(), body)
	}
}

// Vault's transit engine is mounted and computes an HMAC.
func TestVaultTransit(t *testing.T) {
	ctx := context.Background()
	vc, err := env.VaultClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Logical().WriteWithContext(ctx, "transit/keys/testenv", map[string]any{"type": "aes256-gcm96"}); err != nil {
		t.Fatalf("creating transit key: %v", err)
	}
	sec, err := vc.Logical().WriteWithContext(ctx, "transit/hmac/testenv", map[string]any{"input": "aGVsbG8="})
	if err != nil {
		t.Fatalf("transit hmac: %v", err)
	}
	if h, _ := sec.Data["hmac"].(string); len(h) < 10 {
		t.Fatalf("transit hmac answered %v", sec.Data)
	}
}
