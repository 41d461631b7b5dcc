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

package manifest

import (
	"strings"
	"testing"
)

// Comment-only documents and bare separators, as `helm template` writes them, are skipped; a
// document without a kind is an error naming it.
func TestRead(t *testing.T) {
	const stream = "---\n# Source: fivesafes/templates/a.yaml\n---\n# Source: fivesafes/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\n# only a comment\n"
	objs, err := Read("helm", strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetKind() != "ConfigMap" || objs[0].GetName() != "a" {
		t.Fatalf("read %d objects: %+v", len(objs), objs)
	}
	if _, err := Read("bad", strings.NewReader("metadata:\n  name: x\n")); err == nil || !strings.Contains(err.Error(), "bad: document 1 has no apiVersion or kind") {
		t.Fatalf("a document without a kind: %v", err)
	}
}
