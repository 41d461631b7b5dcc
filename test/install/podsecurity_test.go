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
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fivesafes/fivesafes/internal/manifest"
)

// restrictedLatest is the Pod Security level the manager pod must meet.
var restrictedLatest = psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}

// evaluateRestricted evaluates a pod template against Pod Security restricted at latest.
func evaluateRestricted(t testing.TB, tmpl corev1.PodTemplateSpec) psapolicy.AggregateCheckResult {
	t.Helper()
	e, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatalf("creating the Pod Security evaluator: %v", err)
	}
	return psapolicy.AggregateCheckResults(e.EvaluatePod(restrictedLatest, &tmpl.ObjectMeta, &tmpl.Spec))
}

// managerPodTemplate returns the pod template of the rendered manager Deployment.
func managerPodTemplate(t testing.TB, objs []manifest.Object) corev1.PodTemplateSpec {
	t.Helper()
	return into(t, find(t, objs, "Deployment", "fivesafes-manager"), &appsv1.Deployment{}).Spec.Template
}

// dryRunPod creates a pod from tmpl in namespace with dry run, so the API server's own
// PodSecurity admission judges it against the namespace's enforced level.
func dryRunPod(tmpl corev1.PodTemplateSpec, namespace string) error {
	pod := &corev1.Pod{ObjectMeta: *tmpl.ObjectMeta.DeepCopy(), Spec: *tmpl.Spec.DeepCopy()}
	pod.GenerateName = "fivesafes-manager-"
	pod.Namespace = namespace
	return env.Client.Create(context.Background(), pod, client.DryRunAll)
}

// TestManagerPodIsRestricted checks the manager pod, as the chart (defaults and production-like
// values) and config/default render it, meets Pod Security restricted at latest, by the
// pod-security-admission library and by the API server's PodSecurity admission in a namespace
// that enforces restricted.
func TestManagerPodIsRestricted(t *testing.T) {
	ensureNamespace(t, defaultNamespace)
	ensureNamespace(t, otherNamespace)
	renders := []struct {
		name, namespace string
		render          func(testing.TB) []manifest.Object
		admit           bool
	}{
		{"chart defaults", defaultNamespace, func(t testing.TB) []manifest.Object { return helmTemplate(t, defaultNamespace) }, true},
		{"chart production", otherNamespace, func(t testing.TB) []manifest.Object {
			return helmTemplate(t, otherNamespace, "--values", "test/install/testdata/production-values.yaml")
		}, false},
		{"config/default", defaultNamespace, kustomize, true},
	}
	for _, r := range renders {
		t.Run(r.name, func(t *testing.T) {
			tmpl := managerPodTemplate(t, r.render(t))
			if res := evaluateRestricted(t, tmpl); !res.Allowed {
				t.Errorf("the manager pod is not Pod Security restricted: %s: %s",
					strings.Join(res.ForbiddenReasons, "; "), strings.Join(res.ForbiddenDetails, "; "))
			}
			// The production values name a PriorityClass that does not exist here, which the
			// API server's Priority admission would refuse before Pod Security looks.
			if r.admit {
				if err := dryRunPod(tmpl, r.namespace); err != nil {
					t.Errorf("the API server refuses the manager pod in a namespace enforcing restricted: %v", err)
				}
			}
		})
	}
}

// TestPodSecurityCheckBites shows the restricted check refuses the manager pod once it is made
// less safe, each way the profile forbids, so that the check above means something.
func TestPodSecurityCheckBites(t *testing.T) {
	base := managerPodTemplate(t, helmTemplate(t, defaultNamespace))
	if !evaluateRestricted(t, base).Allowed {
		t.Fatal("the unchanged manager pod must be allowed for this test to mean anything")
	}
	cases := []struct {
		name   string
		mutate func(*corev1.PodSpec)
		reason string
	}{
		{"privileged", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Privileged = ptr.To(true) }, "privileged"},
		{"privilege escalation", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, "allowPrivilegeEscalation"},
		{"runs as root", func(s *corev1.PodSpec) {
			s.SecurityContext.RunAsNonRoot = nil
			s.Containers[0].SecurityContext.RunAsNonRoot = nil
			s.SecurityContext.RunAsUser = ptr.To[int64](0)
		}, "runAs"},
		{"keeps capabilities", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Capabilities.Drop = nil }, "capabilities"},
		{"adds NET_ADMIN", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		}, "capabilities"},
		{"no seccomp profile", func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile = nil }, "seccompProfile"},
		{"host path", func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}, "restricted volume types"},
		{"host network", func(s *corev1.PodSpec) { s.HostNetwork = true }, "host namespaces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := *base.DeepCopy()
			tc.mutate(&tmpl.Spec)
			res := evaluateRestricted(t, tmpl)
			if res.Allowed {
				t.Fatalf("a manager pod that is %s passed Pod Security restricted", tc.name)
			}
			if all := strings.Join(res.ForbiddenReasons, "; "); !strings.Contains(all, tc.reason) {
				t.Errorf("refused for %q, want a reason naming %q", all, tc.reason)
			}
		})
	}

	ensureNamespace(t, defaultNamespace)
	privileged := *base.DeepCopy()
	privileged.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
	privileged.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
	err := dryRunPod(privileged, defaultNamespace)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "restricted") {
		t.Errorf("the API server admitted a privileged manager pod in a namespace enforcing restricted: %v", err)
	}
}
