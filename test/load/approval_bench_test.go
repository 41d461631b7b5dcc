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

// Package load measures how long the operator takes from an agreement's last approval to a Ready
// workspace, for one agreement and for many at once, against a floor measured in the same run: a
// plain client creating the same Kubernetes objects. Run it with `make bench BENCH=ApprovalToReady
// PKGS=./test/load/`.
package load

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/manifest"
	"github.com/fivesafes/fivesafes/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	// The components start only for the benchmark; a plain `go test` has nothing to run here.
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	testenv.MainWith(m, testenv.Options{Webhooks: true, UserRoles: true, MinIO: true, Vault: true}, &env,
		func(ctx context.Context, e *testenv.Env) error { return e.StartManager(ctx, e.ManagerOptions()) })
}

// parallel is how many agreements are approved at once, as a busy committee session might.
const parallel = 8

func sample(b *testing.B) *fivesafesv1alpha1.DataAccessAgreement {
	b.Helper()
	objs, err := manifest.ReadDir(filepath.Join("..", "..", "config", "samples"))
	if err != nil {
		b.Fatal(err)
	}
	var daa *fivesafesv1alpha1.DataAccessAgreement
	var catalogue []manifest.Object
	for _, o := range objs {
		if o.GetKind() == "DataAccessAgreement" {
			daa = &fivesafesv1alpha1.DataAccessAgreement{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, daa); err != nil {
				b.Fatal(err)
			}
		} else {
			catalogue = append(catalogue, o)
		}
	}
	if err := manifest.Apply(context.Background(), env.Client, "load", catalogue); err != nil {
		b.Fatal(err)
	}
	return daa
}

// run calls f for each name with parallel workers.
func run(names []string, f func(string) error) error {
	var wg sync.WaitGroup
	work := make(chan string)
	errs := make(chan error, len(names))
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := f(n); err != nil {
					errs <- err
				}
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// watcher follows agreements and workspaces through one watch each, and records, by name, when
// each agreement got its spec digest and when each workspace was first seen Ready. A watch, not
// polling: listing hundreds of workspaces every few milliseconds would cost the API server more
// than the operator's own work and distort the figures.
type watcher struct {
	mu      sync.Mutex
	changed *sync.Cond
	digests map[string]fivesafesv1alpha1.Digest
	ready   map[string]time.Time
	err     error
}

func watchAll(ctx context.Context, b *testing.B) *watcher {
	b.Helper()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	w := &watcher{digests: map[string]fivesafesv1alpha1.Digest{}, ready: map[string]time.Time{}}
	w.changed = sync.NewCond(&w.mu)
	go w.follow(ctx, c, &fivesafesv1alpha1.DataAccessAgreementList{}, func(o runtime.Object, _ time.Time) {
		if a, ok := o.(*fivesafesv1alpha1.DataAccessAgreement); ok && a.Status.SpecDigest != "" {
			w.digests[a.Name] = a.Status.SpecDigest
		}
	})
	go w.follow(ctx, c, &fivesafesv1alpha1.WorkspaceList{}, func(o runtime.Object, now time.Time) {
		ws, ok := o.(*fivesafesv1alpha1.Workspace)
		if !ok {
			return
		}
		if _, seen := w.ready[ws.Name]; !seen && meta.IsStatusConditionTrue(ws.Status.Conditions, fivesafesv1alpha1.ConditionReady) {
			w.ready[ws.Name] = now
		}
	})
	go func() {
		<-ctx.Done()
		w.mu.Lock()
		if w.err == nil {
			w.err = ctx.Err()
		}
		w.changed.Broadcast()
		w.mu.Unlock()
	}()
	return w
}

// follow records every object of list's kind as the API server reports it, watching again
// whenever a watch ends: the API server closes the watches of consumers it finds slow, and a busy
// two-core machine makes every consumer slow at times. A new watch starts with every current
// object, so nothing is missed; what it reports late is recorded late, never early.
func (w *watcher) follow(ctx context.Context, c client.WithWatch, list client.ObjectList, record func(runtime.Object, time.Time)) {
	for ctx.Err() == nil {
		wi, err := c.Watch(ctx, list)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ev := range wi.ResultChan() {
			if ev.Type == watch.Error {
				continue
			}
			now := time.Now()
			w.mu.Lock()
			record(ev.Object, now)
			w.changed.Broadcast()
			w.mu.Unlock()
		}
		wi.Stop()
	}
}

// waitAll waits until have reports every name, or the watch fails or ends.
func (w *watcher) waitAll(names []string, have func(string) bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.err != nil {
			return w.err
		}
		missing := 0
		for _, n := range names {
			if !have(n) {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		w.changed.Wait()
	}
}

// operatorLatencies creates n agreements, has each approved by two members, and returns, per
// agreement, the time from its second approval to its workspace being Ready.
func operatorLatencies(b *testing.B, prefix string, n int, daa *fivesafesv1alpha1.DataAccessAgreement) []time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	w := watchAll(ctx, b)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	err := run(names, func(name string) error {
		a := daa.DeepCopy()
		a.ObjectMeta = metav1.ObjectMeta{Name: name}
		return env.Client.Create(ctx, a)
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.waitAll(names, func(n string) bool { return w.digests[n] != "" }); err != nil {
		b.Fatalf("waiting for the agreements' digests: %v", err)
	}
	members := make([]client.Client, 2)
	for i, who := range []string{"alice@committee.example.org", "bob@committee.example.org"} {
		c, err := env.ClientAs(who, "fivesafes:committee")
		if err != nil {
			b.Fatal(err)
		}
		members[i] = c
	}
	var mu sync.Mutex
	approvedAt := map[string]time.Time{}
	err = run(names, func(name string) error {
		w.mu.Lock()
		digest := w.digests[name]
		w.mu.Unlock()
		for i, c := range members {
			a := &fivesafesv1alpha1.AgreementApproval{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i)},
				Spec:       fivesafesv1alpha1.AgreementApprovalSpec{Agreement: name, SpecDigest: digest, Decision: fivesafesv1alpha1.DecisionApprove, Comment: "Approved."},
			}
			if err := c.Create(ctx, a); err != nil {
				return err
			}
		}
		mu.Lock()
		approvedAt[name] = time.Now()
		mu.Unlock()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.waitAll(names, func(n string) bool { _, ok := w.ready[n]; return ok }); err != nil {
		b.Fatalf("not every workspace became Ready: %v; %s", err, notReady(names))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]time.Duration, 0, n)
	for _, name := range names {
		out = append(out, w.ready[name].Sub(approvedAt[name]))
	}
	return out
}

// notReady describes the first few of the named workspaces that are not Ready, as the API server has
// them, for a run that timed out.
func notReady(names []string) string {
	var list fivesafesv1alpha1.WorkspaceList
	if err := env.Client.List(context.Background(), &list); err != nil {
		return "listing workspaces: " + err.Error()
	}
	var out []string
	for _, ws := range list.Items {
		c := meta.FindStatusCondition(ws.Status.Conditions, fivesafesv1alpha1.ConditionReady)
		if slices.Contains(names, ws.Name) && (c == nil || c.Status != metav1.ConditionTrue) && len(out) < 5 {
			msg := "no Ready condition"
			if c != nil {
				msg = c.Reason + ": " + c.Message
			}
			out = append(out, ws.Name+" ("+msg+")")
		}
	}
	return fmt.Sprintf("not Ready: %v", out)
}

// floorLatencies creates, for n workspaces, the same Kubernetes objects the operator makes, with
// a plain client and no checks, storage or keys, and returns the time each took.
func floorLatencies(b *testing.B, prefix string, n int) []time.Duration {
	b.Helper()
	ctx := context.Background()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	var mu sync.Mutex
	var out []time.Duration
	err := run(names, func(name string) error {
		start := time.Now()
		ns := "floor-" + name
		objs := []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
				Annotations: map[string]string{"fivesafes.io/allowed-images": "registry.example.org/analysis"}}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "workload", Namespace: ns}},
			&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}},
			&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}},
			&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-object-store", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}},
			&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "workspace", Namespace: ns}},
			&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "workspace", Namespace: ns}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "storage-credentials", Namespace: ns}},
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "storage-credentials-reader", Namespace: ns}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "researchers", Namespace: ns}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "fivesafes-researcher"}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "storage-credentials-reader", Namespace: ns}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "storage-credentials-reader"}},
		}
		for _, o := range objs {
			if err := env.Client.Create(ctx, o); err != nil {
				return fmt.Errorf("floor: creating %T: %w", o, err)
			}
		}
		mu.Lock()
		out = append(out, time.Since(start))
		mu.Unlock()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}

// runs numbers the benchmark's runs: Go may call a benchmark function more than once, and each
// run's agreements and namespaces need names of their own.
var runs atomic.Int64

// BenchmarkApprovalToReady reports, for 1 and for 200 agreements, p50 and p95 of the time from
// the last approval to a Ready workspace, the floor's, and their ratio.
func BenchmarkApprovalToReady(b *testing.B) {
	daa := sample(b)
	for _, n := range []int{1, 200} {
		b.Run(fmt.Sprintf("agreements=%d", n), func(b *testing.B) {
			var op, floor []time.Duration
			steps, cpu, reqs := stepTotals(b), processCPU(), apiRequests(b)
			profileAPIServer(b, 10*time.Second)
			for i := 0; i < b.N; i++ {
				prefix := fmt.Sprintf("load-%d-%d", n, runs.Add(1))
				floor = append(floor, floorLatencies(b, prefix, n)...)
				op = append(op, operatorLatencies(b, prefix, n, daa)...)
			}
			p50, p95 := percentile(op, 0.50), percentile(op, 0.95)
			f50, f95 := percentile(floor, 0.50), percentile(floor, 0.95)
			b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
			b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
			b.ReportMetric(float64(f50.Milliseconds()), "floor-p50-ms")
			b.ReportMetric(float64(f95.Milliseconds()), "floor-p95-ms")
			b.ReportMetric(float64(p95)/float64(f95), "p95-ratio")
			reportBreakdown(b, n*b.N, steps, cpu, reqs)
		})
	}
}
