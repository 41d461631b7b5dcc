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

package webhooks

import (
	"context"
	"encoding/json"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

func outputRequestJSON(t *testing.T, requester string, ann map[string]string) []byte {
	t.Helper()
	return outputRequestInState(t, requester, "", ann)
}

// outputRequestInState is a request with spec.state set to state, or left out when it is empty.
func outputRequestInState(t *testing.T, requester, state string, ann map[string]string) []byte {
	t.Helper()
	spec := map[string]any{"requester": map[string]any{"username": requester}}
	if state != "" {
		spec["state"] = state
	}
	or := map[string]any{
		"apiVersion": "fivesafes.io/v1alpha1", "kind": "OutputRequest",
		"metadata": map[string]any{"name": "paper", "namespace": "ws-a", "annotations": ann},
		"spec":     spec,
	}
	b, err := json.Marshal(or)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stampAs runs the request stamp for user and returns the annotations of the admitted object.
func stampAs(t *testing.T, op admissionv1.Operation, user string, old, obj []byte) map[string]string {
	t.Helper()
	s := Stamp{
		Field: "requester", Asked: fivesafesv1alpha1.AnnotationDownloadRequested, AskedBy: fivesafesv1alpha1.AnnotationDownloadRequestedBy,
		State: "state", StateValue: string(fivesafesv1alpha1.RequestWithdrawn), StateBy: fivesafesv1alpha1.AnnotationWithdrawnBy,
	}
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: op, Kind: metaKind, UserInfo: authenticationv1.UserInfo{Username: user},
		Object: runtime.RawExtension{Raw: obj}, OldObject: runtime.RawExtension{Raw: old},
	}}
	resp := s.Handle(context.Background(), req)
	if !resp.Allowed {
		t.Fatalf("refused: %v", resp.Result)
	}
	patch, err := json.Marshal(resp.Patches)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := applyPatch(obj, patch)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(doc, &out); err != nil {
		t.Fatal(err)
	}
	return out.Metadata.Annotations
}

var metaKind = metav1.GroupVersionKind{Group: "fivesafes.io", Version: "v1alpha1", Kind: "OutputRequest"}

func applyPatch(doc, patch []byte) ([]byte, error) {
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, err
	}
	return p.Apply(doc)
}

// Whoever sets the download annotation is recorded from the authenticated request; nobody can
// write or change that record themselves.
func TestStampDownloadAsker(t *testing.T) {
	const at, by = fivesafesv1alpha1.AnnotationDownloadRequested, fivesafesv1alpha1.AnnotationDownloadRequestedBy
	v0 := outputRequestJSON(t, "amara", nil)
	// Tom asks for a download of Amara's request, and tries to name Amara as the asker.
	v1 := outputRequestJSON(t, "amara", map[string]string{at: "2026-11-22T10:00:00Z", by: "amara"})
	if got := stampAs(t, admissionv1.Update, "tom", v0, v1); got[by] != "tom" {
		t.Fatalf("asker recorded as %q, want tom", got[by])
	}
	// A later update that does not ask again keeps the asker, whatever it says.
	stamped := outputRequestJSON(t, "amara", map[string]string{at: "2026-11-22T10:00:00Z", by: "tom"})
	forged := outputRequestJSON(t, "amara", map[string]string{at: "2026-11-22T10:00:00Z", by: "someone-else"})
	if got := stampAs(t, admissionv1.Update, "amara", stamped, forged); got[by] != "tom" {
		t.Fatalf("asker changed to %q without a new request", got[by])
	}
	// Asking again records the new asker.
	again := outputRequestJSON(t, "amara", map[string]string{at: "2026-11-22T11:00:00Z", by: "tom"})
	if got := stampAs(t, admissionv1.Update, "amara", stamped, again); got[by] != "amara" {
		t.Fatalf("asker after asking again is %q, want amara", got[by])
	}
	// Nobody can plant an asker on create.
	planted := outputRequestJSON(t, "amara", map[string]string{by: "tom"})
	if got := stampAs(t, admissionv1.Create, "amara", nil, planted); got[by] != "" {
		t.Fatalf("an asker %q was planted on create", got[by])
	}
}

// Whoever withdraws a request is recorded from the authenticated request; nobody can write or
// change that record themselves.
func TestStampWithdrawer(t *testing.T) {
	const by = fivesafesv1alpha1.AnnotationWithdrawnBy
	submitted, withdrawn := string(fivesafesv1alpha1.RequestSubmitted), string(fivesafesv1alpha1.RequestWithdrawn)
	// Nobody can plant a withdrawer on a submitted request, on create or update.
	planted := outputRequestInState(t, "amara", submitted, map[string]string{by: "tom"})
	if got := stampAs(t, admissionv1.Create, "amara", nil, planted); got[by] != "" {
		t.Fatalf("a withdrawer %q was planted on create", got[by])
	}
	v0 := outputRequestInState(t, "amara", submitted, nil)
	if got := stampAs(t, admissionv1.Update, "amara", v0, planted); got[by] != "" {
		t.Fatalf("a withdrawer %q was planted on update", got[by])
	}
	// Tom withdraws Amara's request and tries to name Amara.
	v1 := outputRequestInState(t, "amara", withdrawn, map[string]string{by: "amara"})
	if got := stampAs(t, admissionv1.Update, "tom", v0, v1); got[by] != "tom" {
		t.Fatalf("withdrawer recorded as %q, want tom", got[by])
	}
	// Later updates keep the withdrawer, whatever they write.
	stamped := outputRequestInState(t, "amara", withdrawn, map[string]string{by: "tom"})
	forged := outputRequestInState(t, "amara", withdrawn, map[string]string{by: "someone-else"})
	if got := stampAs(t, admissionv1.Update, "amara", stamped, forged); got[by] != "tom" {
		t.Fatalf("withdrawer changed to %q without a withdrawal", got[by])
	}
	cleared := outputRequestInState(t, "amara", withdrawn, nil)
	if got := stampAs(t, admissionv1.Update, "amara", stamped, cleared); got[by] != "tom" {
		t.Fatalf("withdrawer removed: %q", got[by])
	}
	// A request created withdrawn names its creator.
	if got := stampAs(t, admissionv1.Create, "amara", nil, outputRequestInState(t, "amara", withdrawn, map[string]string{by: "tom"})); got[by] != "amara" {
		t.Fatalf("a request created withdrawn names %q, want amara", got[by])
	}
}
