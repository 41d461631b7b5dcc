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
	"fmt"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// LabelWorkspace is the label the operator puts on a workspace's namespace naming the workspace.
const LabelWorkspace = "fivesafes.io/workspace"

// Reviews refuses an OutputReview that the output controller would not count: from someone
// outside the output checkers group, from the requester or a researcher on the agreement, for a
// request that does not exist, or for content that is not the request's current content.
type Reviews struct {
	Reader        client.Reader
	Decoder       admission.Decoder
	CheckersGroup string
}

// +kubebuilder:webhook:path=/validate-outputreview,mutating=false,failurePolicy=fail,sideEffects=None,groups=fivesafes.io,resources=outputreviews,verbs=create,versions=v1alpha1,name=validate.outputreviews.fivesafes.io,admissionReviewVersions=v1

// Handle validates the review. It runs after the stamp, so spec.reviewer is the requester of the
// admission.
func (w *Reviews) Handle(ctx context.Context, req admission.Request) admission.Response {
	rv := &fivesafesv1alpha1.OutputReview{}
	if err := w.Decoder.Decode(req, rv); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	user := req.UserInfo.Username
	if !slices.Contains(req.UserInfo.Groups, w.CheckersGroup) {
		return admission.Denied(fmt.Sprintf("%s is not an output checker (group %s), so cannot review outputs", user, w.CheckersGroup))
	}
	or := &fivesafesv1alpha1.OutputRequest{}
	if err := w.Reader.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: rv.Spec.OutputRequest}, or); err != nil {
		if apierrors.IsNotFound(err) {
			return admission.Denied(fmt.Sprintf("there is no output request named %s in %s", rv.Spec.OutputRequest, req.Namespace))
		}
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading output request: %w", err))
	}
	if or.Spec.Requester != nil && or.Spec.Requester.Username == user {
		return admission.Denied(fmt.Sprintf("%s made output request %s and cannot review it: outputs need independent checkers", user, or.Name))
	}
	researchers, err := w.researchers(ctx, req.Namespace)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if researchers[user] {
		return admission.Denied(fmt.Sprintf("%s is a researcher on this workspace's agreement and cannot review its outputs", user))
	}
	if or.Status.ContentDigest == "" || rv.Spec.ContentDigest != or.Status.ContentDigest {
		return admission.Denied(fmt.Sprintf("output request %s has changed since you read it: you reviewed %s but its current content is %q; review the current files",
			or.Name, rv.Spec.ContentDigest, or.Status.ContentDigest))
	}
	return admission.Allowed("")
}

// researchers returns the researchers of the agreement whose workspace owns namespace.
func (w *Reviews) researchers(ctx context.Context, namespace string) (map[string]bool, error) {
	ns := &corev1.Namespace{}
	if err := w.Reader.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return nil, fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	name := ns.Labels[LabelWorkspace]
	if name == "" {
		return nil, fmt.Errorf("namespace %s is not a workspace", namespace)
	}
	ws := &fivesafesv1alpha1.Workspace{}
	if err := w.Reader.Get(ctx, client.ObjectKey{Name: name}, ws); err != nil {
		return nil, fmt.Errorf("reading workspace %s: %w", name, err)
	}
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := w.Reader.Get(ctx, client.ObjectKey{Name: ws.Spec.Agreement}, daa); err != nil {
		return nil, fmt.Errorf("reading agreement %s: %w", ws.Spec.Agreement, err)
	}
	out := map[string]bool{}
	for _, r := range daa.Spec.Researchers {
		out[r.Name] = true
	}
	return out, nil
}
