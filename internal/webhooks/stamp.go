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

// Package webhooks holds the admission webhooks: mutating webhooks that stamp who approved,
// requested or reviewed something from the authenticated request, and validating webhooks that
// refuse what the controllers would not count, early and with a message people understand.
package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Stamp is a mutating webhook that writes the authenticated user into one field of an object's
// spec on create, overwriting whatever the user wrote, and keeps the original value on update.
type Stamp struct {
	// Field is the spec field to write, e.g. "approver".
	Field string
	// Asked and AskedBy, when set, are annotations: whenever a request changes Asked, AskedBy is
	// set to the authenticated user; otherwise AskedBy keeps its earlier value.
	Asked, AskedBy string
	// State, StateValue and StateBy, when set, record who moved a spec field to a value: a request
	// that makes spec.<State> StateValue, from anything else, sets the annotation StateBy to the
	// authenticated user; otherwise StateBy keeps its earlier value, or stays unset.
	State, StateValue, StateBy string
}

// stampAsker records who set Asked to a new value.
func (s Stamp) stampAsker(req admission.Request, obj, old *unstructured.Unstructured) {
	if s.Asked == "" {
		return
	}
	var was map[string]string
	if old != nil {
		was = old.GetAnnotations()
	}
	now := obj.GetAnnotations()[s.Asked]
	recordWho(req, obj, old, s.AskedBy, now != "" && now != was[s.Asked])
}

// stampState records who moved spec.<State> to StateValue.
func (s Stamp) stampState(req admission.Request, obj, old *unstructured.Unstructured) {
	if s.State == "" {
		return
	}
	now, _, _ := unstructured.NestedString(obj.Object, "spec", s.State)
	was := ""
	if old != nil {
		was, _, _ = unstructured.NestedString(old.Object, "spec", s.State)
	}
	recordWho(req, obj, old, s.StateBy, now == s.StateValue && was != s.StateValue)
}

// recordWho sets the annotation by to the authenticated user when the request acted, and
// otherwise restores the value the object had before (or removes it), so nobody can write it.
func recordWho(req admission.Request, obj, old *unstructured.Unstructured, by string, acted bool) {
	who := ""
	if old != nil {
		who = old.GetAnnotations()[by]
	}
	if acted {
		who = req.UserInfo.Username
	}
	ann := obj.GetAnnotations()
	if who == "" {
		delete(ann, by)
	} else {
		if ann == nil {
			ann = map[string]string{}
		}
		ann[by] = who
	}
	obj.SetAnnotations(ann)
}

// +kubebuilder:webhook:path=/stamp-agreementapproval,mutating=true,failurePolicy=fail,sideEffects=None,groups=fivesafes.io,resources=agreementapprovals,verbs=create;update,versions=v1alpha1,name=stamp.agreementapprovals.fivesafes.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/stamp-outputrequest,mutating=true,failurePolicy=fail,sideEffects=None,groups=fivesafes.io,resources=outputrequests,verbs=create;update,versions=v1alpha1,name=stamp.outputrequests.fivesafes.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/stamp-outputreview,mutating=true,failurePolicy=fail,sideEffects=None,groups=fivesafes.io,resources=outputreviews,verbs=create;update,versions=v1alpha1,name=stamp.outputreviews.fivesafes.io,admissionReviewVersions=v1

// Handle stamps the user.
func (s Stamp) Handle(_ context.Context, req admission.Request) admission.Response {
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal(req.Object.Raw, &obj.Object); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding %s: %w", req.Kind.Kind, err))
	}
	var value any
	switch req.Operation {
	case admissionv1.Create:
		groups := make([]any, 0, len(req.UserInfo.Groups))
		for _, g := range req.UserInfo.Groups {
			groups = append(groups, g)
		}
		stamp := map[string]any{"username": req.UserInfo.Username}
		if req.UserInfo.UID != "" {
			stamp["uid"] = req.UserInfo.UID
		}
		if len(groups) > 0 {
			stamp["groups"] = groups
		}
		value = stamp
		s.stampAsker(req, obj, nil)
		s.stampState(req, obj, nil)
	case admissionv1.Update:
		old := &unstructured.Unstructured{}
		if err := json.Unmarshal(req.OldObject.Raw, &old.Object); err != nil {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding old %s: %w", req.Kind.Kind, err))
		}
		s.stampAsker(req, obj, old)
		s.stampState(req, obj, old)
		v, found, err := unstructured.NestedFieldCopy(old.Object, "spec", s.Field)
		if err != nil {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("reading old spec.%s: %w", s.Field, err))
		}
		if !found {
			unstructured.RemoveNestedField(obj.Object, "spec", s.Field)
			return patched(req, obj)
		}
		value = v
	default:
		return admission.Allowed("")
	}
	if err := unstructured.SetNestedField(obj.Object, value, "spec", s.Field); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("writing spec.%s: %w", s.Field, err))
	}
	return patched(req, obj)
}

func patched(req admission.Request, obj *unstructured.Unstructured) admission.Response {
	raw, err := json.Marshal(obj.Object)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding %s: %w", req.Kind.Kind, err))
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}
