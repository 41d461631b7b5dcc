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

// Package install_test checks the two ways of installing Fivesafes, the Helm chart in
// charts/fivesafes and the kustomization in config/default: what they render is accepted by a
// real kube-apiserver (server-side apply, dry run), the manager pod meets Pod Security
// `restricted`, the chart lints and is in step with the generated manifests in config/, and the
// two installs agree.
package install_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fivesafes/fivesafes/internal/manifest"
	"github.com/fivesafes/fivesafes/internal/stack"
	"github.com/fivesafes/fivesafes/internal/testenv"
)

// env is the kube-apiserver and etcd every test in the package shares.
var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, &env)
}

const (
	// defaultNamespace is where the chart's defaults and config/default install the manager.
	defaultNamespace = "fivesafes-system"
	// otherNamespace is a release namespace other than the default, to show nothing assumes it.
	otherNamespace = "tre-control"
	// kubeVersion is the Kubernetes version helm renders for: the version the envtest API server
	// is built from (hack/tools.sh), which satisfies the chart's kubeVersion.
	kubeVersion = "1.36.3"
	// fieldOwner is the field manager of the dry-run applies.
	fieldOwner = "fivesafes-install-test"
)

// repoRoot returns the repository root.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := stack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// toolBinary returns the path of a tool's binary: from the directory in envName when set, else
// the tool cache directory hack/tools.sh reports. A missing binary fails the test with the
// command that builds it.
func toolBinary(t testing.TB, envName, tool, binary string) string {
	t.Helper()
	root := repoRoot(t)
	dir := os.Getenv(envName)
	if dir == "" {
		out, err := exec.Command("bash", filepath.Join(root, "hack", "tools.sh"), "path", tool).Output()
		if err != nil {
			t.Fatalf("asking hack/tools.sh where %s lives: %v", tool, err)
		}
		dir = strings.TrimSpace(string(out))
	}
	path := filepath.Join(dir, binary)
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		t.Fatalf("%s binary not found at %s: build it with `make tools` (or `hack/tools.sh %s`), or point %s at a directory that has it", tool, path, tool, envName)
	}
	return path
}

func helmBinary(t testing.TB) string {
	return toolBinary(t, "FIVESAFES_HELM_DIR", "helm", "helm")
}

func kubectlBinary(t testing.TB) string {
	return toolBinary(t, "FIVESAFES_KUBECTL_DIR", "kubectl", "kubectl")
}

// runTool runs a binary in the repository root and returns its standard output and error.
func runTool(t testing.TB, bin string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot(t)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// helmTemplate renders the chart as release "fivesafes" in namespace with the CRDs and the given
// extra helm arguments, and returns the objects.
func helmTemplate(t testing.TB, namespace string, args ...string) []manifest.Object {
	t.Helper()
	all := append([]string{"template", "fivesafes", "charts/fivesafes", "--namespace", namespace, "--kube-version", kubeVersion, "--include-crds"}, args...)
	out, errOut, err := runTool(t, helmBinary(t), all...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(all, " "), err, errOut)
	}
	// Helm's output opens with a "---" line before a comment-only document, which the YAML
	// reader would hand over as a document of its own.
	out = bytes.TrimPrefix(out, []byte("---\n"))
	objs, err := manifest.Read("helm template", bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// kustomize builds config/default and returns the objects.
func kustomize(t testing.TB) []manifest.Object {
	t.Helper()
	out, errOut, err := runTool(t, kubectlBinary(t), "kustomize", "config/default")
	if err != nil {
		t.Fatalf("kubectl kustomize config/default: %v\n%s\nconfig/default composes config/crd, config/rbac and config/webhook, "+
			"each of which needs a kustomization.yaml listing its generated files", err, errOut)
	}
	objs, err := manifest.Read("kubectl kustomize config/default", bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// ensureNamespace really creates a namespace, labelled to enforce Pod Security restricted, so
// that namespaced objects can be dry-run applied into it.
func ensureNamespace(t testing.TB, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// dryRunApply server-side applies every object with dry run, checking that each namespaced
// object is in namespace and each cluster-scoped one names none. Objects for which skip is true
// are left out.
func dryRunApply(t *testing.T, objs []manifest.Object, namespace string, skip func(manifest.Object) bool) int {
	t.Helper()
	ctx := context.Background()
	applied := 0
	for _, o := range objs {
		if skip != nil && skip(o) {
			continue
		}
		namespaced, err := env.Client.IsObjectNamespaced(o.Unstructured)
		if err != nil {
			t.Errorf("%s %s (%s): the API server does not know the kind: %v", o.GetKind(), o.GetName(), o.Source, err)
			continue
		}
		switch {
		case namespaced && o.GetNamespace() != namespace:
			t.Errorf("%s %s is in namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), namespace)
		case !namespaced && o.GetNamespace() != "":
			t.Errorf("cluster-scoped %s %s names namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
		err = env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()),
			client.FieldOwner(fieldOwner), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("server-side apply (dry run) of %s %s refused: %v", o.GetKind(), o.GetName(), err)
			continue
		}
		applied++
	}
	return applied
}

// find returns the object of kind and name, failing the test when there is none.
func find(t testing.TB, objs []manifest.Object, kind, name string) manifest.Object {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return manifest.Object{}
}

// has reports whether objs hold an object of kind and name.
func has(objs []manifest.Object, kind, name string) bool {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return true
		}
	}
	return false
}

// into converts a rendered object into a typed one.
func into[T any](t testing.TB, o manifest.Object, out *T) *T {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		t.Fatalf("converting %s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return out
}
