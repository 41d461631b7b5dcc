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
	"reflect"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/fivesafes/fivesafes/internal/manifest"
)

// TestKustomizeAppliesWithDryRun builds config/default and server-side applies every object to
// the API server with dry run, then checks the webhooks, RBAC and groups as for the chart.
func TestKustomizeAppliesWithDryRun(t *testing.T) {
	ensureNamespace(t, defaultNamespace)
	objs := kustomize(t)
	applied := dryRunApply(t, objs, defaultNamespace, nil)
	t.Logf("%d objects accepted by the API server (dry run)", applied)
	checkWebhooks(t, objs, defaultNamespace, false)
	checkRBAC(t, objs, defaultNamespace)
	checkGroups(t, objs, "fivesafes:committee", "fivesafes:output-checkers", "fivesafes:data-platform", "fivesafes:auditors")
	find(t, objs, "Secret", "fivesafes-webhook-cert")
	find(t, objs, "Namespace", defaultNamespace)
}

// TestKustomizeMatchesChart checks config/default installs the same objects as the chart with its
// defaults, with the same names and the same content apart from labels and annotations: the
// kustomization is the chart's default install without Helm. config/default also creates the
// namespace, which Helm leaves to --create-namespace.
func TestKustomizeMatchesChart(t *testing.T) {
	chart := byKey(helmTemplate(t, defaultNamespace))
	kust := byKey(kustomize(t))
	delete(kust, objectKey{kind: "Namespace", name: defaultNamespace})

	var onlyChart, onlyKust []string
	for k := range chart {
		if _, ok := kust[k]; !ok {
			onlyChart = append(onlyChart, k.String())
		}
	}
	for k := range kust {
		if _, ok := chart[k]; !ok {
			onlyKust = append(onlyKust, k.String())
		}
	}
	sort.Strings(onlyChart)
	sort.Strings(onlyKust)
	if len(onlyChart) > 0 || len(onlyKust) > 0 {
		t.Errorf("the installs differ in their objects:\n only in the chart: %v\n only in config/default: %v", onlyChart, onlyKust)
	}
	for k, c := range chart {
		o, ok := kust[k]
		if !ok {
			continue
		}
		got, want := content(o), content(c)
		if !reflect.DeepEqual(got, want) {
			g, _ := yaml.Marshal(got)
			w, _ := yaml.Marshal(want)
			t.Errorf("%s differs between config/default and the chart's defaults:\n--- config/default\n%s\n--- chart\n%s", k, g, w)
		}
	}
}

// objectKey identifies an object in a render.
type objectKey struct{ kind, namespace, name string }

func (k objectKey) String() string {
	if k.namespace == "" {
		return k.kind + " " + k.name
	}
	return k.kind + " " + k.namespace + "/" + k.name
}

func byKey(objs []manifest.Object) map[objectKey]manifest.Object {
	out := map[objectKey]manifest.Object{}
	for _, o := range objs {
		out[objectKey{o.GetKind(), o.GetNamespace(), o.GetName()}] = o
	}
	return out
}

// content returns an object's content without the labels and annotations the two installs
// add differently.
func content(o manifest.Object) map[string]any {
	c := o.DeepCopy().Object
	delete(c, "metadata")
	unstructured.RemoveNestedField(c, "spec", "template", "metadata", "labels")
	return c
}
