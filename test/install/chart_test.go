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

package install_test

import (
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fivesafes/fivesafes/internal/manager"
	"github.com/fivesafes/fivesafes/internal/manifest"
)

// certManagerGroup is cert-manager's API group. The test API server has no cert-manager CRDs, so
// objects of this group are checked as rendered, not applied.
const certManagerGroup = "cert-manager.io"

func isCertManager(o manifest.Object) bool {
	return o.GroupVersionKind().Group == certManagerGroup
}

// TestChartAppliesWithDryRun renders the chart with its defaults and with production-like values
// (cert-manager certificates, another namespace) and server-side applies every object, CRDs
// included, to the API server with dry run; then checks what the render must say.
func TestChartAppliesWithDryRun(t *testing.T) {
	cases := []struct {
		name        string
		namespace   string
		args        []string
		certManager bool
		// groups are the group names the role bindings and the manager flags must carry.
		committee, checkers, dataPlatform, auditors string
	}{{
		name:      "defaults",
		namespace: defaultNamespace,
		committee: "fivesafes:committee", checkers: "fivesafes:output-checkers",
		dataPlatform: "fivesafes:data-platform", auditors: "fivesafes:auditors",
	}, {
		name:        "cert-manager and production values",
		namespace:   otherNamespace,
		args:        []string{"--values", "test/install/testdata/production-values.yaml"},
		certManager: true,
		committee:   "oidc:tre-data-access-committee", checkers: "oidc:tre-output-checkers",
		dataPlatform: "oidc:tre-data-platform", auditors: "oidc:tre-auditors",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ensureNamespace(t, tc.namespace)
			objs := helmTemplate(t, tc.namespace, tc.args...)
			applied := dryRunApply(t, objs, tc.namespace, isCertManager)
			t.Logf("%d objects accepted by the API server (dry run)", applied)

			crds := 0
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					crds++
				}
			}
			bases, err := filepath.Glob(filepath.Join(repoRoot(t), "config", "crd", "bases", "*.yaml"))
			if err != nil || crds != len(bases) || crds == 0 {
				t.Errorf("rendered %d CRDs, config/crd/bases has %d (%v)", crds, len(bases), err)
			}

			checkWebhooks(t, objs, tc.namespace, tc.certManager)
			checkRBAC(t, objs, tc.namespace)
			checkGroups(t, objs, tc.committee, tc.checkers, tc.dataPlatform, tc.auditors)

			d := into(t, find(t, objs, "Deployment", "fivesafes-manager"), &appsv1.Deployment{})
			args := managerArgs(t, d)
			want := []string{"--leader-elect=true", "--leader-election-namespace=" + tc.namespace, "--webhook-port=9443"}
			if tc.certManager {
				want = append(want, "--webhook-cert-rotation=false")
				if has(objs, "Secret", "fivesafes-webhook-cert") {
					t.Error("with cert-manager the chart must leave the Secret fivesafes-webhook-cert to cert-manager")
				}
				checkCertManager(t, objs, tc.namespace)
			} else {
				want = append(want, "--webhook-cert-rotation=true",
					"--webhook-cert-secret=fivesafes-webhook-cert",
					"--webhook-service=fivesafes-webhook-service",
					"--mutating-webhook-configuration=fivesafes-mutating-webhook-configuration",
					"--validating-webhook-configuration=fivesafes-validating-webhook-configuration")
				find(t, objs, "Secret", "fivesafes-webhook-cert")
				for _, o := range objs {
					if isCertManager(o) {
						t.Errorf("with certManagement=self the chart rendered cert-manager's %s %s", o.GetKind(), o.GetName())
					}
				}
			}
			for _, w := range want {
				if !slices.Contains(args, w) {
					t.Errorf("manager flags lack %s; have %q", w, args)
				}
			}
			if img := d.Spec.Template.Spec.Containers[0].Image; !slices.Contains(args, "--extract-job-image="+img) {
				t.Errorf("--extract-job-image is not the manager image %s: %q", img, args)
			}
			storage := ""
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "FIVESAFES_STORAGE_ACCESS_KEY" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					storage = e.ValueFrom.SecretKeyRef.Name
				}
			}
			if storage == "" || !slices.Contains(args, "--extract-job-storage-secret="+storage) {
				t.Errorf("extraction Jobs are not given the manager's storage Secret %q: %q", storage, args)
			}
		})
	}
}

// checkWebhooks checks both webhook configurations: fixed names, every webhook calling the
// webhook Service in namespace and failing closed, and cert-manager's CA injection when asked.
func checkWebhooks(t *testing.T, objs []manifest.Object, namespace string, certManager bool) {
	t.Helper()
	type hook struct {
		name          string
		service       *admissionregistrationv1.ServiceReference
		failurePolicy *admissionregistrationv1.FailurePolicyType
	}
	var hooks []hook
	m := into(t, find(t, objs, "MutatingWebhookConfiguration", "fivesafes-mutating-webhook-configuration"), &admissionregistrationv1.MutatingWebhookConfiguration{})
	for _, w := range m.Webhooks {
		hooks = append(hooks, hook{w.Name, w.ClientConfig.Service, w.FailurePolicy})
	}
	v := into(t, find(t, objs, "ValidatingWebhookConfiguration", "fivesafes-validating-webhook-configuration"), &admissionregistrationv1.ValidatingWebhookConfiguration{})
	for _, w := range v.Webhooks {
		hooks = append(hooks, hook{w.Name, w.ClientConfig.Service, w.FailurePolicy})
	}
	generated, err := manifest.ReadFile(filepath.Join(repoRoot(t), "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantHooks := 0
	for _, g := range generated {
		ws, _, _ := unstructured.NestedSlice(g.Object, "webhooks")
		wantHooks += len(ws)
	}
	if len(hooks) != wantHooks || wantHooks == 0 {
		t.Errorf("rendered %d webhooks, config/webhook/manifests.yaml has %d", len(hooks), wantHooks)
	}
	for _, h := range hooks {
		if h.service == nil || h.service.Name != "fivesafes-webhook-service" || h.service.Namespace != namespace {
			t.Errorf("webhook %s calls %+v, want the Service fivesafes-webhook-service in %s", h.name, h.service, namespace)
		}
		if h.failurePolicy == nil || *h.failurePolicy != admissionregistrationv1.Fail {
			t.Errorf("webhook %s does not fail closed", h.name)
		}
	}
	for _, meta := range []map[string]string{m.Annotations, v.Annotations} {
		got, ok := meta["cert-manager.io/inject-ca-from"]
		switch {
		case certManager && got != namespace+"/fivesafes-webhook-cert":
			t.Errorf("cert-manager.io/inject-ca-from = %q, want %s/fivesafes-webhook-cert", got, namespace)
		case !certManager && ok:
			t.Errorf("with certManagement=self a webhook configuration asks cert-manager to inject its CA")
		}
	}
}

// checkRBAC checks the manager's roles carry exactly the generated rules, the namespaced one in
// the release namespace, bound to the manager's ServiceAccount; and that the people's roles keep
// their names.
func checkRBAC(t *testing.T, objs []manifest.Object, namespace string) {
	t.Helper()
	generated, err := manifest.ReadFile(filepath.Join(repoRoot(t), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range generated {
		var want, got []rbacv1.PolicyRule
		switch g.GetKind() {
		case "ClusterRole":
			want = into(t, g, &rbacv1.ClusterRole{}).Rules
			got = into(t, find(t, objs, "ClusterRole", g.GetName()), &rbacv1.ClusterRole{}).Rules
			b := into(t, find(t, objs, "ClusterRoleBinding", g.GetName()), &rbacv1.ClusterRoleBinding{})
			checkBoundToManager(t, b.Subjects, namespace)
		case "Role":
			r := find(t, objs, "Role", g.GetName())
			if r.GetNamespace() != namespace {
				t.Errorf("Role %s is in %q, want the release namespace %s", r.GetName(), r.GetNamespace(), namespace)
			}
			want = into(t, g, &rbacv1.Role{}).Rules
			got = into(t, r, &rbacv1.Role{}).Rules
			b := into(t, find(t, objs, "RoleBinding", g.GetName()), &rbacv1.RoleBinding{})
			checkBoundToManager(t, b.Subjects, namespace)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s rules differ from config/rbac/role.yaml:\n got %+v\nwant %+v", g.GetKind(), g.GetName(), got, want)
		}
	}
	for _, name := range []string{"fivesafes-researcher", "fivesafes-committee", "fivesafes-output-checker", "fivesafes-data-platform", "fivesafes-auditor"} {
		find(t, objs, "ClusterRole", name)
	}
	le := into(t, find(t, objs, "RoleBinding", "fivesafes-leader-election"), &rbacv1.RoleBinding{})
	checkBoundToManager(t, le.Subjects, namespace)
}

func checkBoundToManager(t *testing.T, subjects []rbacv1.Subject, namespace string) {
	t.Helper()
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "fivesafes-manager", Namespace: namespace}}
	if !reflect.DeepEqual(subjects, want) {
		t.Errorf("bound to %+v, want %+v", subjects, want)
	}
}

// checkGroups checks the people's role bindings and the manager's flags name the same groups.
func checkGroups(t *testing.T, objs []manifest.Object, committee, checkers, dataPlatform, auditors string) {
	t.Helper()
	for role, group := range map[string]string{
		"fivesafes-committee":      committee,
		"fivesafes-output-checker": checkers,
		"fivesafes-data-platform":  dataPlatform,
		"fivesafes-auditor":        auditors,
	} {
		b := into(t, find(t, objs, "ClusterRoleBinding", role), &rbacv1.ClusterRoleBinding{})
		want := []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: group}}
		if b.RoleRef.Name != role || !reflect.DeepEqual(b.Subjects, want) {
			t.Errorf("ClusterRoleBinding %s binds %s to %+v, want %s to %+v", role, b.RoleRef.Name, b.Subjects, role, want)
		}
	}
	args := managerArgs(t, into(t, find(t, objs, "Deployment", "fivesafes-manager"), &appsv1.Deployment{}))
	for _, w := range []string{"--committee-group=" + committee, "--checkers-group=" + checkers} {
		if !slices.Contains(args, w) {
			t.Errorf("manager flags lack %s", w)
		}
	}
}

// checkCertManager checks the Certificate covers the webhook Service and fills the Secret the
// manager mounts.
func checkCertManager(t *testing.T, objs []manifest.Object, namespace string) {
	t.Helper()
	find(t, objs, "Issuer", "fivesafes-selfsigned")
	c := find(t, objs, "Certificate", "fivesafes-webhook-cert")
	secret, _, _ := unstructured.NestedString(c.Object, "spec", "secretName")
	if secret != "fivesafes-webhook-cert" {
		t.Errorf("Certificate writes Secret %q, want fivesafes-webhook-cert", secret)
	}
	dns, _, _ := unstructured.NestedStringSlice(c.Object, "spec", "dnsNames")
	if !slices.Contains(dns, "fivesafes-webhook-service."+namespace+".svc") {
		t.Errorf("Certificate DNS names %q lack the webhook Service", dns)
	}
	issuer, _, _ := unstructured.NestedString(c.Object, "spec", "issuerRef", "name")
	if issuer != "fivesafes-selfsigned" {
		t.Errorf("Certificate issued by %q, want fivesafes-selfsigned", issuer)
	}
	d := into(t, find(t, objs, "Deployment", "fivesafes-manager"), &appsv1.Deployment{})
	if v := volume(d.Spec.Template.Spec, "webhook-certs"); v == nil || v.Secret == nil || v.Secret.SecretName != "fivesafes-webhook-cert" {
		t.Errorf("the webhook certificate directory is not the Secret fivesafes-webhook-cert: %+v", v)
	}
}

func volume(spec corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// managerArgs returns the manager container's arguments.
func managerArgs(t testing.TB, d *appsv1.Deployment) []string {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return c.Args
		}
	}
	t.Fatalf("Deployment %s has no manager container", d.Name)
	return nil
}

// checkFlagsParse parses the manager's arguments with the manager's own flag set: every flag must
// exist and every value must parse.
func checkFlagsParse(t *testing.T, args []string) {
	t.Helper()
	o := manager.DefaultOptions()
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.BindFlags(fs)
	var known []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "--"):
			t.Errorf("manager argument %q is not a --flag", a)
		case fs.Lookup(name) != nil:
			known = append(known, a)
		default:
			t.Errorf("manager flag --%s does not exist in internal/manager BindFlags", name)
		}
	}
	if err := fs.Parse(known); err != nil {
		t.Errorf("the manager refuses its arguments: %v", err)
	}
	if fs.NArg() != 0 {
		t.Errorf("the manager takes no positional arguments, got %q", fs.Args())
	}
}

// TestChartManagerFlagsExist checks that every flag the chart and the kustomization pass to the
// manager is one it binds, with a value it parses.
func TestChartManagerFlagsExist(t *testing.T) {
	renders := []struct {
		name   string
		render func(testing.TB) []manifest.Object
	}{
		{"chart defaults", func(t testing.TB) []manifest.Object { return helmTemplate(t, defaultNamespace) }},
		{"chart production", func(t testing.TB) []manifest.Object {
			return helmTemplate(t, otherNamespace, "--values", "test/install/testdata/production-values.yaml")
		}},
		{"config/default", kustomize},
	}
	for _, r := range renders {
		t.Run(r.name, func(t *testing.T) {
			d := into(t, find(t, r.render(t), "Deployment", "fivesafes-manager"), &appsv1.Deployment{})
			checkFlagsParse(t, managerArgs(t, d))
		})
	}
}

// TestChartValuesRefused checks that values.schema.json and the chart's own checks refuse bad
// values, naming the value.
func TestChartValuesRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown certificate management", []string{"--set", "webhook.certManagement=vault"}, "certManagement"},
		{"quorum of zero", []string{"--set", "governance.quorum=0"}, "quorum"},
		{"misspelt value", []string{"--set", "replica=3"}, "replica"},
		{"endpoint without a port", []string{"--set", "storage.endpoint=minio.example.org"}, "endpoint"},
		{"short digest", []string{"--set", "image.digest=sha256:abc"}, "digest"},
		{"unknown legal basis", []string{"--set", "governance.optOutOverrideBases={Section251,Whim}"}, "optOutOverrideBases"},
		{"policy override not a .rego key", []string{"--set", `governance.policyOverrides.notes\.txt=x`}, "notes.txt"},
		{"retention mode", []string{"--set", "audit.retentionMode=forever"}, "retentionMode"},
		{"bad duration", []string{"--set", "governance.downloadUrlExpiry=fifteen minutes"}, "downloadUrlExpiry"},
		{"one group for both duties", []string{"--set", "governance.checkersGroup=fivesafes:committee"}, "must differ"},
		{"object store by name without a CIDR", []string{"--set", "storage.endpoint=minio.minio.svc:9000"}, "objectStoreCIDR"},
	}
	helm := helmBinary(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", "fivesafes", "charts/fivesafes", "--namespace", defaultNamespace, "--kube-version", kubeVersion}, tc.args...)
			_, errOut, err := runTool(t, helm, args...)
			if err == nil {
				t.Fatalf("helm template %s was accepted", strings.Join(tc.args, " "))
			}
			if !strings.Contains(string(errOut), tc.want) {
				t.Errorf("helm template %s failed without naming %q:\n%s", strings.Join(tc.args, " "), tc.want, errOut)
			}
		})
	}
}

// TestHelmLint lints the chart with its defaults and with production-like values.
func TestHelmLint(t *testing.T) {
	helm := helmBinary(t)
	for _, args := range [][]string{nil, {"--values", "test/install/testdata/production-values.yaml"}} {
		all := append([]string{"lint", "charts/fivesafes", "--strict"}, args...)
		out, errOut, err := runTool(t, helm, all...)
		if err != nil {
			t.Errorf("helm %s: %v\n%s%s", strings.Join(all, " "), err, out, errOut)
		}
	}
}

// TestChartInStepWithConfig runs hack/chart -check on the tree: the chart's CRDs, RBAC, webhook
// manifests and README values table match config/ and values.yaml. Then it shows -check bites: in
// a copy whose generated CRD changed, it exits 1 naming the chart file.
func TestChartInStepWithConfig(t *testing.T) {
	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "chart")
	build := exec.Command("go", "build", "-o", bin, "./hack/chart")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hack/chart: %v\n%s", err, out)
	}
	out, errOut, err := runTool(t, bin, "-check")
	if err != nil {
		t.Fatalf("hack/chart -check: %v\n%s%s", err, out, errOut)
	}

	copyRoot := t.TempDir()
	for _, dir := range []string{"config/crd/bases", "config/rbac", "config/webhook", "charts/fivesafes"} {
		copyTree(t, filepath.Join(root, dir), filepath.Join(copyRoot, dir))
	}
	crd := filepath.Join(copyRoot, "config", "crd", "bases", "fivesafes.io_workspaces.yaml")
	b, err := os.ReadFile(crd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crd, append(b, []byte("# changed\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runTool(t, bin, "-check", "-root", copyRoot)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("hack/chart -check on a changed CRD: want exit status 1, got %v", err)
	}
	if !strings.Contains(string(out), "charts/fivesafes/crds/fivesafes.io_workspaces.yaml differs") {
		t.Errorf("hack/chart -check did not name the chart's copy of the changed CRD:\n%s", out)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o750)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", from, err)
	}
}
