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

// Package reentrancy proves the workspace controller converges from a crash after any write, that
// a resync of a ready workspace writes nothing, and that a suspended workspace made active again
// gets its access back. It drives the reconciler directly, with no
// manager, against the real API server, MinIO and Vault.
package reentrancy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7/pkg/credentials"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
	"github.com/fivesafes/fivesafes/internal/storage"
	"github.com/fivesafes/fivesafes/internal/testenv"
	"github.com/fivesafes/fivesafes/internal/testname"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.MainWith(m, testenv.Options{MinIO: true, Vault: true, UserRoles: true}, &env,
		func(ctx context.Context, e *testenv.Env) error { return e.EnsureNamespace(ctx, "fivesafes-system") })
}

// budget counts writes — to the API server, MinIO and Vault — and fails every write after the
// limit, as if the manager died there. A negative limit never fails.
type budget struct {
	limit  int64
	writes atomic.Int64

	mu   sync.Mutex
	what []string
}

var errKilled = errors.New("the manager died here")

func (b *budget) spend(what string) error {
	b.mu.Lock()
	b.what = append(b.what, what)
	b.mu.Unlock()
	n := b.writes.Add(1)
	if b.limit >= 0 && n > b.limit {
		return errKilled
	}
	return nil
}

// RoundTrip counts and fails mutating HTTP requests to MinIO and Vault.
type countingTransport struct {
	b    *budget
	next http.RoundTripper
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Vault answers a token lookup, a read, over POST.
	isRead := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == "LIST" ||
		strings.HasSuffix(req.URL.Path, "/auth/token/lookup-accessor")
	if !isRead {
		if err := t.b.spend(req.Method + " " + req.URL.Path); err != nil {
			// A plain refusal, not a network error, so that clients do not retry it for minutes:
			// the manager is dead, and only the next reconciler's calls count.
			return &http.Response{
				StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": []string{"text/plain"}},
				Body:   io.NopCloser(strings.NewReader(errKilled.Error())), Request: req,
			}, nil
		}
	}
	return t.next.RoundTrip(req)
}

func countingClient(t *testing.T, b *budget) client.Client {
	t.Helper()
	spend := func(verb string, o client.Object) error {
		return b.spend(fmt.Sprintf("%s %T %s", verb, o, o.GetName()))
	}
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return interceptor.NewClient(base, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			if err := spend("Create", o); err != nil {
				return err
			}
			return c.Create(ctx, o, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			if err := spend("Update", o); err != nil {
				return err
			}
			return c.Update(ctx, o, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			if err := spend("Patch", o); err != nil {
				return err
			}
			return c.Patch(ctx, o, p, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			if err := spend("Delete", o); err != nil {
				return err
			}
			return c.Delete(ctx, o, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteAllOfOption) error {
			if err := spend("DeleteAllOf", o); err != nil {
				return err
			}
			return c.DeleteAllOf(ctx, o, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			if err := spend("SubResourcePatch "+sub, o); err != nil {
				return err
			}
			return c.SubResource(sub).Patch(ctx, o, p, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, o client.Object, opts ...client.SubResourceUpdateOption) error {
			if err := spend("SubResourceUpdate "+sub, o); err != nil {
				return err
			}
			return c.SubResource(sub).Update(ctx, o, opts...)
		},
	})
}

// reconciler returns a workspace reconciler whose every write goes through b.
func reconciler(t *testing.T, b *budget) *controllers.WorkspaceReconciler {
	t.Helper()
	st, err := storage.New(storage.Options{
		Endpoint: env.MinIO.Endpoint, AccessKey: env.MinIO.RootUser, SecretKey: env.MinIO.RootPassword,
		Transport: countingTransport{b: b, next: http.DefaultTransport},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := vaultapi.DefaultConfig()
	cfg.Address = env.Vault.Addr
	cfg.HttpClient = &http.Client{Transport: countingTransport{b: b, next: http.DefaultTransport}, Timeout: 30 * time.Second}
	cfg.MaxRetries = 0
	vc, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vc.SetToken(env.Vault.RootToken)
	keys, err := pseudonym.NewVault(vc, "transit")
	if err != nil {
		t.Fatal(err)
	}
	return &controllers.WorkspaceReconciler{
		Client:   countingClient(t, b),
		Scheme:   env.Scheme,
		Recorder: events.NewFakeRecorder(1000),
		Clock:    clocktesting.NewFakePassiveClock(time.Now()),
		Storage:  st,
		Keys:     keys,
		Audit:    &countingAudit{b: b, log: auditLog},
		Network: controllers.NetworkSettings{
			DNSNamespace: "kube-system", DNSPodLabels: map[string]string{"k8s-app": "kube-dns"},
			ObjectStoreCIDR: "127.0.0.1/32", ObjectStorePort: int32(env.MinIO.Port),
		},
		StorageEndpoint: env.MinIO.Endpoint,
		Vault:           vc,
		TransitMount:    "transit",
		SystemNamespace: "fivesafes-system",
		TokenTTL:        24 * time.Hour,
	}
}

var auditLog = mustAuditLog()

func mustAuditLog() *audit.Log {
	l, err := audit.Open(context.Background(), audit.NewMemStore(), audit.Options{})
	if err != nil {
		panic(err)
	}
	return l
}

// countingAudit spends the budget on every audit append: an audit write is a write.
type countingAudit struct {
	b   *budget
	log *audit.Log
}

func (a *countingAudit) Append(ctx context.Context, in audit.EntryInput) (audit.Entry, error) {
	if err := a.b.spend("audit " + string(in.Action)); err != nil {
		return audit.Entry{}, err
	}
	return a.log.Append(ctx, in)
}

func newWorkspace(t *testing.T, name string) *fivesafesv1alpha1.Workspace {
	t.Helper()
	days := int32(30)
	ws := &fivesafesv1alpha1.Workspace{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: fivesafesv1alpha1.WorkspaceSpec{
			Agreement:   name,
			State:       fivesafesv1alpha1.WorkspaceActive,
			Researchers: []string{"amara.okafor@cpccg.example.nhs.uk"},
			Resources: fivesafesv1alpha1.WorkspaceResources{
				CPU: resource.MustParse("2"), Memory: resource.MustParse("4Gi"), Storage: resource.MustParse("10Gi"),
				Images: []string{"registry.fivesafes.example/workspace/jupyter"},
			},
			RetentionDays: &days,
		},
	}
	if err := env.Client.Create(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	return ws
}

// converge reconciles with a healthy reconciler until the workspace is Ready.
func converge(t *testing.T, name string) {
	t.Helper()
	r := reconciler(t, &budget{limit: -1})
	for i := 0; i < 30; i++ {
		res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: name}})
		time.Sleep(min(res.RequeueAfter, 2*time.Second))
		ws := &fivesafesv1alpha1.Workspace{}
		if gerr := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, ws); gerr != nil {
			t.Fatal(gerr)
		}
		if err == nil && meta.IsStatusConditionTrue(ws.Status.Conditions, fivesafesv1alpha1.ConditionReady) {
			return
		}
	}
	t.Fatalf("workspace %s did not converge to Ready", name)
}

// writesOfCleanRun counts the writes a first, uninterrupted provisioning makes.
func writesOfCleanRun(t *testing.T) int64 {
	t.Helper()
	ws := newWorkspace(t, testname.Fresh(t, "clean-run"))
	b := &budget{limit: -1}
	r := reconciler(t, b)
	for i := 0; i < 30; i++ {
		res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(ws)})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(min(res.RequeueAfter, 2*time.Second))
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ws), ws); err != nil {
			t.Fatal(err)
		}
		if meta.IsStatusConditionTrue(ws.Status.Conditions, fivesafesv1alpha1.ConditionReady) {
			return b.writes.Load()
		}
	}
	t.Fatal("the clean run did not reach Ready")
	return 0
}

// checkConverged checks that exactly the expected parts exist, once each.
func checkConverged(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	ns := controllers.WorkspaceNamespace(name)
	count := func(list client.ObjectList) int {
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		return meta.LenList(list)
	}
	for what, got := range map[string][2]int{
		"network policies": {count(&networkingv1.NetworkPolicyList{}), 3},
		"role bindings":    {count(&rbacv1.RoleBindingList{}), 2},
		"roles":            {count(&rbacv1.RoleList{}), 1},
		"secrets":          {count(&corev1.SecretList{}), 1},
		"key access":       {keyAccess(t, name), 1},
		"resource quotas":  {count(&corev1.ResourceQuotaList{}), 1},
		"limit ranges":     {count(&corev1.LimitRangeList{}), 1},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %d %s, want %d", name, got[0], what, got[1])
		}
	}
	// The credentials in the Secret are the storage user's current ones.
	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.CredentialsSecret}, secret); err != nil {
		t.Fatal(err)
	}
	st, err := storage.New(storage.Options{Endpoint: env.MinIO.Endpoint, AccessKey: string(secret.Data["AWS_ACCESS_KEY_ID"]), SecretKey: string(secret.Data["AWS_SECRET_ACCESS_KEY"])})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := st.BucketExists(ctx, controllers.WorkspaceBucket(name)); err != nil || !ok {
		t.Errorf("%s: the Secret's credentials cannot see the bucket: %v %v", name, ok, err)
	}
	// One storage user for the workspace, no orphans.
	adm, err := madmin.NewWithOptions(env.MinIO.Endpoint, &madmin.Options{Creds: credentialsFor()})
	if err != nil {
		t.Fatal(err)
	}
	users, err := adm.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for u := range users {
		if u == controllers.WorkspaceStorageUser(name) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s: %d storage users, want 1", name, n)
	}
}

// Killing the reconcile after its k-th write, for every k, leaves a state from which a fresh
// reconciler converges with nothing duplicated or orphaned.
func TestConvergesAfterCrashAtEveryWrite(t *testing.T) {
	total := writesOfCleanRun(t)
	if total < 10 {
		t.Fatalf("a clean provisioning made only %d writes", total)
	}
	t.Logf("a clean provisioning makes %d writes", total)
	for k := int64(1); k < total; k++ {
		name := fmt.Sprintf("crash-%d", k)
		t.Run(name, func(t *testing.T) {
			name := testname.Fresh(t, name)
			newWorkspace(t, name)
			b := &budget{limit: k}
			_, err := reconciler(t, b).Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: name}})
			if err == nil {
				t.Logf("the reconcile finished within %d writes", k)
			}
			converge(t, name)
			checkConverged(t, name)
		})
	}
}

// A resync of a Ready workspace writes nothing: not to the API server, MinIO, Vault or the audit
// log.
func TestNoOpResyncWritesNothing(t *testing.T) {
	name := testname.Fresh(t, "steady")
	newWorkspace(t, name)
	converge(t, name)
	b := &budget{limit: -1}
	if _, err := reconciler(t, b).Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: name}}); err != nil {
		t.Fatal(err)
	}
	if n := b.writes.Load(); n != 0 {
		t.Fatalf("a resync of a Ready workspace made %d writes, want 0: %v", n, b.what)
	}
}

func credentialsFor() *credentials.Credentials {
	return credentials.NewStaticV4(env.MinIO.RootUser, env.MinIO.RootPassword, "")
}

// keyAccess counts the key access Secrets for a workspace that hold a live token and a wrapped
// data key.
func keyAccess(t *testing.T, name string) int {
	t.Helper()
	secret := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: "fivesafes-system", Name: controllers.KeyAccessSecret(name)}, secret); err != nil {
		t.Errorf("%s: key access: %v", name, err)
		return 0
	}
	if len(secret.Data["token"]) == 0 || len(secret.Data["wrappedDataKey"]) == 0 {
		t.Errorf("%s: key access is incomplete", name)
		return 0
	}
	return 1
}

// setState changes a workspace's spec.state, as the agreement controller does when the agreement
// ends or becomes active again.
func setState(t *testing.T, name string, state fivesafesv1alpha1.WorkspaceState) {
	t.Helper()
	ws := &fivesafesv1alpha1.Workspace{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, ws); err != nil {
		t.Fatal(err)
	}
	ws.Spec.State = state
	if err := env.Client.Update(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
}

// reconcileUntil reconciles with r until done holds for the workspace, and returns it.
func reconcileUntil(t *testing.T, r *controllers.WorkspaceReconciler, name string, done func(*fivesafesv1alpha1.Workspace) bool) *fivesafesv1alpha1.Workspace {
	t.Helper()
	ws := &fivesafesv1alpha1.Workspace{}
	for range 30 {
		res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, ws); err != nil {
			t.Fatal(err)
		}
		if done(ws) {
			return ws
		}
		time.Sleep(min(res.RequeueAfter, 2*time.Second))
	}
	t.Fatalf("workspace %s did not get there: %+v", name, ws.Status)
	return nil
}

// A workspace suspended and made active again before its data was destroyed gets its researchers,
// storage credentials and access back, with both changes in the audit log.
func TestResumeRestoresAccess(t *testing.T) {
	ctx := context.Background()
	name := testname.Fresh(t, "resume")
	newWorkspace(t, name)
	converge(t, name)
	ns := controllers.WorkspaceNamespace(name)
	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.CredentialsSecret}, secret); err != nil {
		t.Fatal(err)
	}
	creds := storage.Credentials{AccessKey: string(secret.Data["AWS_ACCESS_KEY_ID"]), SecretKey: string(secret.Data["AWS_SECRET_ACCESS_KEY"])}
	credentialsWork := func() bool {
		st, err := storage.New(storage.Options{Endpoint: env.MinIO.Endpoint, AccessKey: creds.AccessKey, SecretKey: creds.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := st.BucketExists(ctx, controllers.WorkspaceBucket(name))
		return err == nil && ok
	}
	bindings := func() int {
		var list rbacv1.RoleBindingList
		if err := env.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}

	b := &budget{limit: -1}
	setState(t, name, fivesafesv1alpha1.WorkspaceSuspended)
	ws := reconcileUntil(t, reconciler(t, b), name, func(ws *fivesafesv1alpha1.Workspace) bool { return ws.Status.SuspendedAt != nil })
	if ws.Status.Phase != fivesafesv1alpha1.WorkspaceSuspendedPh || ws.Status.DestroyAfter == nil {
		t.Errorf("suspended workspace: phase %s, destroyAfter %v", ws.Status.Phase, ws.Status.DestroyAfter)
	}
	if n := bindings(); n != 0 {
		t.Errorf("a suspended workspace keeps %d role bindings", n)
	}
	if credentialsWork() {
		t.Error("a suspended workspace's storage credentials still work")
	}

	setState(t, name, fivesafesv1alpha1.WorkspaceActive)
	ws = reconcileUntil(t, reconciler(t, b), name, func(ws *fivesafesv1alpha1.Workspace) bool {
		return meta.IsStatusConditionTrue(ws.Status.Conditions, fivesafesv1alpha1.ConditionReady)
	})
	if ws.Status.SuspendedAt != nil || ws.Status.DestroyAfter != nil || len(ws.Status.Destruction) != 0 {
		t.Errorf("resumed workspace still records a suspension: %+v", ws.Status)
	}
	if n := bindings(); n != 2 {
		t.Errorf("a resumed workspace has %d role bindings, want 2", n)
	}
	if !credentialsWork() {
		t.Error("a resumed workspace's storage credentials do not work")
	}
	var actions []string
	for _, w := range b.what {
		if a, ok := strings.CutPrefix(w, "audit "); ok {
			actions = append(actions, a)
		}
	}
	want := []string{string(audit.ActionWorkspaceSuspend), string(audit.ActionWorkspaceResume), string(audit.ActionWorkspaceProvision)}
	for _, a := range want {
		if !slices.Contains(actions, a) {
			t.Errorf("audit appends %v lack %s", actions, a)
		}
	}
}
