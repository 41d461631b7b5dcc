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
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/testname"
)

const researcher = "amara.okafor@cpccg.example.nhs.uk"

// activeAgreement creates the sample agreement under name, has two members approve it, and
// waits for its workspace to be Ready.
func activeAgreement(t *testing.T, name string) *fivesafesv1alpha1.Workspace {
	t.Helper()
	ctx := context.Background()
	daa := sampleAgreement(t, name)
	if err := env.Client.Create(ctx, daa); err != nil {
		t.Fatal(err)
	}
	digest := waitFor(t, name, "got a digest", func(d *fivesafesv1alpha1.DataAccessAgreement) bool { return d.Status.SpecDigest != "" }).Status.SpecDigest
	for _, who := range []string{"alice@committee.example.org", "bob@committee.example.org"} {
		if _, err := approve(t, clientAs(t, who, committee), name+"-"+strings.Split(who, "@")[0], name, digest, fivesafesv1alpha1.DecisionApprove); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, name, "became Ready with its workspace", func(d *fivesafesv1alpha1.DataAccessAgreement) bool {
		return meta.IsStatusConditionTrue(d.Status.Conditions, fivesafesv1alpha1.ConditionReady)
	})
	ws := &fivesafesv1alpha1.Workspace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ws); err != nil {
		t.Fatal(err)
	}
	return ws
}

func s3As(t *testing.T, accessKey, secretKey string) *minio.Client {
	t.Helper()
	c, err := minio.New(env.MinIO.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func put(c *minio.Client, bucket, key string) error {
	body := []byte("n,count\na,12\n")
	_, err := c.PutObject(context.Background(), bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	return err
}

func accessDenied(err error) bool {
	return err != nil && minio.ToErrorResponse(err).Code == "AccessDenied"
}

// can asks the API server whether the user may do verb on resource in namespace.
func can(t *testing.T, user, verb, group, resource, namespace, name string) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: []string{"system:authenticated", "fivesafes:researchers"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Namespace: namespace, Name: name},
	}}
	if err := env.Client.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

func restrictedPod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "main", Image: image,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// readyObservations counts the provisioning times observed so far.
func readyObservations(t *testing.T) uint64 {
	t.Helper()
	var n uint64
	for _, m := range gather(t)["fivesafes_workspace_ready_duration_seconds"].GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// stepErrors counts the workspace controller's failures of one step so far.
func stepErrors(t *testing.T, step string) uint64 {
	t.Helper()
	var n uint64
	for _, m := range gather(t)["fivesafes_reconcile_step_duration_seconds"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["controller"] == "Workspace" && labels["step"] == step && labels["result"] == "error" {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

// An active agreement becomes a Ready workspace whose isolation is proven: storage credentials
// confined to its own bucket, researchers confined to their namespace, pods confined to the
// allow-list and to restricted security.
func TestWorkspaceIsolation(t *testing.T) {
	ctx := context.Background()
	namespaceErrors := stepErrors(t, "reconcileNamespace")
	readyBefore := readyObservations(t)
	ws := activeAgreement(t, testname.Fresh(t, "isolation"))
	other := activeAgreement(t, testname.Fresh(t, "isolation-other"))
	ns := controllers.WorkspaceNamespace(ws.Name)

	// Each workspace records when it first became Ready, by the manager's clock (which the tests
	// move, so it is not compared with the API server's creation time), and the time it took is
	// observed once.
	for _, w := range []*fivesafesv1alpha1.Workspace{ws, other} {
		if w.Status.ReadyAt == nil || w.Status.ReadyAt.After(clock.Now()) {
			t.Errorf("workspace %s: readyAt %v, manager's clock now %v", w.Name, w.Status.ReadyAt, clock.Now())
		}
	}
	if n := readyObservations(t) - readyBefore; n != 2 {
		t.Errorf("%d provisioning times observed for two workspaces", n)
	}

	// The cluster makes each namespace's default ServiceAccount at the moment the loop makes its
	// own; the loop takes it over without failing, and it mounts no token.
	if n := stepErrors(t, "reconcileNamespace") - namespaceErrors; n != 0 {
		t.Errorf("making the namespaces failed %d times", n)
	}
	for _, name := range []string{"default", "workload"} {
		sa := &corev1.ServiceAccount{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sa); err != nil {
			t.Fatal(err)
		}
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken || metav1.GetControllerOf(sa) == nil || metav1.GetControllerOf(sa).Name != ws.Name {
			t.Errorf("service account %s: automount %v, controller %v", name, sa.AutomountServiceAccountToken, metav1.GetControllerOf(sa))
		}
	}

	// The namespace enforces Pod Security restricted.
	nsObj := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	if nsObj.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("namespace labels = %v", nsObj.Labels)
	}
	// Default deny plus DNS and the object store.
	var nps networkingv1.NetworkPolicyList
	if err := env.Client.List(ctx, &nps, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(nps.Items) != 3 {
		t.Fatalf("%d network policies, want 3", len(nps.Items))
	}
	for _, c := range []string{fivesafesv1alpha1.WorkspaceNamespaceReady, fivesafesv1alpha1.WorkspaceNetworkIsolated, fivesafesv1alpha1.WorkspaceStorageReady, fivesafesv1alpha1.WorkspaceKeyReady} {
		if !meta.IsStatusConditionTrue(ws.Status.Conditions, c) {
			t.Errorf("condition %s is not True: %+v", c, ws.Status.Conditions)
		}
	}

	// Storage: the workspace's credentials work on its own bucket as the policy says, and
	// nowhere else.
	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.CredentialsSecret}, secret); err != nil {
		t.Fatal(err)
	}
	mine := s3As(t, string(secret.Data["AWS_ACCESS_KEY_ID"]), string(secret.Data["AWS_SECRET_ACCESS_KEY"]))
	if err := put(mine, ws.Status.Bucket, "outputs/table.csv"); err != nil {
		t.Fatalf("writing outputs/ with the workspace credentials: %v", err)
	}
	if err := put(mine, ws.Status.Bucket, "datasets/forged.csv"); !accessDenied(err) {
		t.Fatalf("writing datasets/: %v, want AccessDenied", err)
	}
	if err := put(mine, other.Status.Bucket, "scratch/x.csv"); !accessDenied(err) {
		t.Fatalf("writing another workspace's bucket: %v, want AccessDenied", err)
	}
	admin, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.MakeBucket(ctx, "fivesafes-egress", minio.MakeBucketOptions{}); err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		t.Fatal(err)
	}
	if err := put(mine, "fivesafes-egress", "releases/forged/table.csv"); !accessDenied(err) {
		t.Fatalf("writing the egress bucket: %v, want AccessDenied", err)
	}
	if _, err := mine.GetObject(ctx, "fivesafes-egress", "releases/x", minio.GetObjectOptions{}); err == nil {
		if _, err := mine.StatObject(ctx, "fivesafes-egress", "releases/x", minio.StatObjectOptions{}); !accessDenied(err) {
			t.Fatalf("reading the egress bucket: %v, want AccessDenied", err)
		}
	}
	listing := mine.ListObjects(ctx, "fivesafes-audit", minio.ListObjectsOptions{Recursive: true})
	if first := <-listing; !accessDenied(first.Err) {
		t.Fatalf("listing the audit bucket: %v, want AccessDenied", first.Err)
	}

	// Vault: the key exists and is not exportable.
	vc, err := env.VaultClient()
	if err != nil {
		t.Fatal(err)
	}
	key, err := vc.Logical().ReadWithContext(ctx, "transit/keys/"+ws.Status.KeyName)
	if err != nil || key == nil {
		t.Fatalf("reading transit key %s: %v", ws.Status.KeyName, err)
	}
	if key.Data["exportable"] != false || key.Data["allow_plaintext_backup"] != false {
		t.Fatalf("transit key settings: %v", key.Data)
	}

	// The agreement's Vault token, kept outside the workspace, uses its own key and no other.
	access := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "fivesafes-system", Name: controllers.KeyAccessSecret(ws.Name)}, access); err != nil {
		t.Fatal(err)
	}
	if len(access.Data["wrappedDataKey"]) == 0 {
		t.Fatal("no wrapped data key is kept for the agreement")
	}
	scoped, err := vc.Clone()
	if err != nil {
		t.Fatal(err)
	}
	scoped.SetToken(string(access.Data["token"]))
	hmacInput := map[string]any{"input": "OTQzNDc2NTkxOQ=="}
	if _, err := scoped.Logical().WriteWithContext(ctx, "transit/hmac/"+ws.Status.KeyName, hmacInput); err != nil {
		t.Fatalf("the agreement's token cannot use its own key: %v", err)
	}
	if _, err := scoped.Logical().WriteWithContext(ctx, "transit/hmac/"+other.Status.KeyName, hmacInput); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("the agreement's token on another agreement's key: %v, want 403", err)
	}
	var secretsInWorkspace corev1.SecretList
	if err := env.Client.List(ctx, &secretsInWorkspace, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, sec := range secretsInWorkspace.Items {
		if _, ok := sec.Data["token"]; ok {
			t.Fatalf("secret %s in the workspace holds a Vault token", sec.Name)
		}
	}

	// One extract is asked for per approved dataset, with the agreement's opt-out handling.
	var extracts fivesafesv1alpha1.DatasetExtractList
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return env.Client.List(ctx, &extracts, client.InNamespace(ns)) == nil && len(extracts.Items) == 2, nil
	})
	if err != nil {
		t.Fatalf("extracts in the workspace: %+v", extracts.Items)
	}
	for _, dx := range extracts.Items {
		switch dx.Spec.Dataset {
		case "hes-apc":
			if dx.Spec.OptOuts != fivesafesv1alpha1.OptOutsHonoured || dx.Spec.OptOutList != "national-data-opt-out" {
				t.Errorf("hes-apc extract: %+v", dx.Spec)
			}
		case "asc-cld":
			if dx.Spec.OptOuts != fivesafesv1alpha1.OptOutsNotApplied || dx.Spec.OptOutJustification == "" || dx.Spec.OptOutList != "" {
				t.Errorf("asc-cld extract: %+v", dx.Spec)
			}
		default:
			t.Errorf("unexpected extract %s", dx.Name)
		}
	}

	// RBAC: the researcher works in their namespace only.
	checks := []struct {
		verb, group, resource, namespace, name string
		want                                   bool
	}{
		{"create", "", "pods", ns, "", true},
		{"get", "", "pods/log", ns, "", true},
		{"create", "batch", "jobs", ns, "", true},
		{"create", "fivesafes.io", "outputrequests", ns, "", true},
		{"list", "fivesafes.io", "datasetextracts", ns, "", true},
		{"get", "", "secrets", ns, controllers.CredentialsSecret, true},
		{"get", "", "secrets", ns, "anything-else", false},
		{"list", "", "secrets", ns, "", false},
		{"create", "rbac.authorization.k8s.io", "rolebindings", ns, "", false},
		{"create", "networking.k8s.io", "networkpolicies", ns, "", false},
		{"delete", "networking.k8s.io", "networkpolicies", ns, netpolName(nps), false},
		{"create", "", "pods", controllers.WorkspaceNamespace(other.Name), "", true}, // also a researcher there
		{"create", "", "pods", "default", "", false},
		{"get", "", "secrets", "fivesafes-system", "", false},
		{"create", "fivesafes.io", "outputreviews", ns, "", false},
	}
	for _, c := range checks {
		if got := can(t, researcher, c.verb, c.group, c.resource, c.namespace, c.name); got != c.want {
			t.Errorf("researcher %s %s/%s in %s (%s): allowed=%v, want %v", c.verb, c.group, c.resource, c.namespace, c.name, got, c.want)
		}
	}
	if can(t, "tom.stranger@example.org", "create", "", "pods", ns, "") {
		t.Error("someone not on the agreement can create pods in the workspace")
	}

	// Pods: only allowed images, nothing privileged, no token.
	amara := clientAs(t, researcher, "fivesafes:researchers")
	good := restrictedPod("good", "registry.fivesafes.example/workspace/rstudio:4.4")
	good.Namespace = ns
	if err := amara.Create(ctx, good); err != nil {
		t.Fatalf("an allowed pod was refused: %v", err)
	}
	bad := restrictedPod("bad-image", "docker.io/library/alpine:latest")
	bad.Namespace = ns
	if err := amara.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "allow-list") {
		t.Fatalf("a pod with a non-allowed image: %v, want refusal naming the allow-list", err)
	}
	priv := restrictedPod("privileged", "registry.fivesafes.example/workspace/rstudio:4.4")
	priv.Namespace = ns
	priv.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
	if err := amara.Create(ctx, priv); err == nil {
		t.Fatal("a privileged pod was accepted")
	}
	token := restrictedPod("token", "registry.fivesafes.example/workspace/rstudio:4.4")
	token.Namespace = ns
	token.Spec.AutomountServiceAccountToken = ptr.To(true)
	if err := amara.Create(ctx, token); err == nil || !strings.Contains(err.Error(), "service account token") {
		t.Fatalf("a pod asking for a token: %v, want refusal", err)
	}
}

func netpolName(l networkingv1.NetworkPolicyList) string {
	if len(l.Items) == 0 {
		return ""
	}
	return l.Items[0].Name
}

// Expiry suspends the workspace at once; after the retention period its bucket, user and key
// are destroyed, the namespace goes, and the agreement records how.
func TestWorkspaceExpiryAndDestruction(t *testing.T) {
	ctx := context.Background()
	name := testname.Fresh(t, "teardown")
	ws := activeAgreement(t, name)
	ns := controllers.WorkspaceNamespace(name)
	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.CredentialsSecret}, secret); err != nil {
		t.Fatal(err)
	}
	creds := s3As(t, string(secret.Data["AWS_ACCESS_KEY_ID"]), string(secret.Data["AWS_SECRET_ACCESS_KEY"]))
	if err := put(creds, ws.Status.Bucket, "scratch/work.csv"); err != nil {
		t.Fatal(err)
	}

	end := time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC)
	moveClock(t, end)
	poke(t, name)
	waitFor(t, name, "expired", phaseIs(fivesafesv1alpha1.AgreementExpired))
	suspended := waitForWorkspace(t, name, "was suspended", func(w *fivesafesv1alpha1.Workspace) bool {
		return w.Status.Phase == fivesafesv1alpha1.WorkspaceSuspendedPh && w.Status.DestroyAfter != nil
	})
	if err := put(creds, ws.Status.Bucket, "scratch/after.csv"); err == nil {
		t.Fatal("the storage user still writes after suspension")
	}
	if n := auditCount(t, audit.ActionWorkspaceSuspend, name, "suspended"); n != 1 {
		t.Fatalf("%d workspace.suspend entries, want 1", n)
	}
	if can(t, researcher, "create", "", "pods", ns, "") {
		t.Fatal("the researcher can still create pods after suspension")
	}
	if !suspended.Status.DestroyAfter.Time.Equal(end.Add(30 * 24 * time.Hour)) {
		t.Fatalf("destroyAfter = %v, want 30 days after %v", suspended.Status.DestroyAfter, end)
	}

	// After retention, destruction.
	clock.SetTime(end.Add(31 * 24 * time.Hour))
	touchWorkspace(t, name)
	waitForWorkspace(t, name, "was destroyed", func(w *fivesafesv1alpha1.Workspace) bool {
		return w.Status.Phase == fivesafesv1alpha1.WorkspaceDestroyed
	})
	mc, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := mc.BucketExists(ctx, ws.Status.Bucket); err != nil || ok {
		t.Fatalf("bucket exists after destruction: %v %v", ok, err)
	}
	vc, err := env.VaultClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Logical().WriteWithContext(ctx, "transit/hmac/"+ws.Status.KeyName, map[string]any{"input": "OTQzNDc2NTkxOQ=="}); err == nil {
		t.Fatal("an HMAC with the destroyed key succeeded")
	}
	// The log holds the intended destruction and, after Vault deleted the key, its completion.
	if i, d := auditCount(t, audit.ActionKeyDestroy, name, "crypto-shred"), auditCount(t, audit.ActionKeyDestroy, name, "crypto-shredded"); i != 1 || d != 1 {
		t.Fatalf("key.destroy entries: %d intended, %d done; want one of each", i, d)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})), nil
	})
	if err != nil {
		t.Fatalf("namespace %s was not deleted", ns)
	}
	daa := waitFor(t, name, "recorded the destruction", func(d *fivesafesv1alpha1.DataAccessAgreement) bool { return len(d.Status.Destruction) == 4 })
	// Each step of the workspace's life was announced once.
	for reason, action := range map[string]string{controllers.ReasonWorkspaceReady: "Provision", controllers.ReasonSuspended: "Suspend", controllers.ReasonDestroyed: "Destroy"} {
		if e := waitForEvent(t, "Workspace", name, reason); e.Action != action || e.Type != corev1.EventTypeNormal || e.Series != nil {
			t.Errorf("%s event: action %q, type %q, series %v; want %s, Normal, once", reason, e.Action, e.Type, e.Series, action)
		}
	}
	for _, d := range daa.Status.Destruction {
		if d.Method == "" || d.Time.IsZero() {
			t.Errorf("destruction record %+v is incomplete", d)
		}
	}
}

func waitForWorkspace(t *testing.T, name, what string, cond func(*fivesafesv1alpha1.Workspace) bool) *fivesafesv1alpha1.Workspace {
	t.Helper()
	ws := &fivesafesv1alpha1.Workspace{}
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ws); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return cond(ws), nil
	})
	if err != nil {
		t.Fatalf("workspace %s never %s; last status: %+v", name, what, ws.Status)
	}
	return ws
}

// touchWorkspace asks the workspace controller to look again after the clock moved.
func touchWorkspace(t *testing.T, name string) {
	t.Helper()
	ws := &fivesafesv1alpha1.Workspace{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, ws); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ws.DeepCopy())
	if ws.Annotations == nil {
		ws.Annotations = map[string]string{}
	}
	ws.Annotations["fivesafes.io/reconcile-requested-at"] = clock.Now().Format(time.RFC3339Nano)
	if err := env.Client.Patch(context.Background(), ws, patch); err != nil {
		t.Fatal(err)
	}
}

// The manager makes the workspace pod policy and its binding when it starts, before any
// workspace asks for them, and makes them again as they should be.
func TestPodPolicyMadeAtStart(t *testing.T) {
	ctx := context.Background()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	for _, o := range []client.Object{policy, binding} {
		// The suite's manager made them at its start.
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
			return env.Client.Get(ctx, client.ObjectKey{Name: controllers.PodPolicyName}, o) == nil, nil
		})
		if err != nil {
			t.Fatalf("%T %s was not made at start", o, controllers.PodPolicyName)
		}
	}
	// Changed by someone else, they are put back by a starting manager.
	binding.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Audit}
	if err := env.Client.Update(ctx, binding); err != nil {
		t.Fatal(err)
	}
	r := &controllers.WorkspaceReconciler{Client: env.Client, APIReader: env.Client, Scheme: env.Scheme}
	if err := r.StartPodPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: controllers.PodPolicyName}, binding); err != nil {
		t.Fatal(err)
	}
	if got := binding.Spec.ValidationActions; len(got) != 1 || got[0] != admissionregistrationv1.Deny {
		t.Fatalf("binding actions after start = %v, want [Deny]", got)
	}
}
