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
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
)

// AgreementValidator checks an agreement against the governance policy; the same check the
// agreement controller runs.
type AgreementValidator interface {
	ValidateAgreement(ctx context.Context, daa *fivesafesv1alpha1.DataAccessAgreement, catalogue map[string]fivesafesv1alpha1.DatasetSpec) ([]fivesafesv1alpha1.Finding, fivesafesv1alpha1.Digest, error)
}

// Agreements refuses a DataAccessAgreement that breaks a governance rule, listing every
// violation. An update that leaves the substantive spec unchanged (a revocation, labels) is
// always allowed, so an agreement can be revoked even under a stricter policy.
type Agreements struct {
	Reader    client.Reader
	Decoder   admission.Decoder
	Validator AgreementValidator
}

// +kubebuilder:webhook:path=/validate-dataaccessagreement,mutating=false,failurePolicy=fail,sideEffects=None,groups=fivesafes.io,resources=dataaccessagreements,verbs=create;update,versions=v1alpha1,name=validate.dataaccessagreements.fivesafes.io,admissionReviewVersions=v1

// Handle validates the agreement.
func (w *Agreements) Handle(ctx context.Context, req admission.Request) admission.Response {
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := w.Decoder.Decode(req, daa); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if req.Operation == admissionv1.Update {
		old := &fivesafesv1alpha1.DataAccessAgreement{}
		if err := w.Decoder.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if same, err := sameSubstance(old, daa); err == nil && same {
			return admission.Allowed("the approved substance of the agreement is unchanged")
		}
	}
	catalogue, err := readCatalogue(ctx, w.Reader, daa)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	findings, _, err := w.Validator.ValidateAgreement(ctx, daa, catalogue)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("the governance policy could not be evaluated, so the agreement is refused: %w", err))
	}
	if len(findings) == 0 {
		return admission.Allowed("")
	}
	lines := make([]string, 0, len(findings))
	for _, f := range findings {
		lines = append(lines, fmt.Sprintf("%s: %s [%s]", f.Field, f.Message, f.Rule))
	}
	return admission.Denied(fmt.Sprintf("the agreement breaks %d governance rule(s):\n- %s", len(findings), strings.Join(lines, "\n- ")))
}

func sameSubstance(a, b *fivesafesv1alpha1.DataAccessAgreement) (bool, error) {
	da, err := agreement.SpecDigest(a.Spec)
	if err != nil {
		return false, err
	}
	db, err := agreement.SpecDigest(b.Spec)
	if err != nil {
		return false, err
	}
	return da == db, nil
}

// readCatalogue returns the catalogue Datasets the agreement names that exist.
func readCatalogue(ctx context.Context, r client.Reader, daa *fivesafesv1alpha1.DataAccessAgreement) (map[string]fivesafesv1alpha1.DatasetSpec, error) {
	cat := map[string]fivesafesv1alpha1.DatasetSpec{}
	for _, d := range daa.Spec.Datasets {
		var ds fivesafesv1alpha1.Dataset
		err := r.Get(ctx, client.ObjectKey{Name: d.Name}, &ds)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("reading catalogue dataset %s: %w", d.Name, err)
		default:
			cat[d.Name] = ds.Spec
		}
	}
	return cat, nil
}

// Approvals refuses an AgreementApproval the agreement controller would not count: from someone
// outside the committee group, from a researcher on the agreement, for an agreement that does
// not exist, or for a digest that is not the agreement's current one.
type Approvals struct {
	Reader         client.Reader
	Decoder        admission.Decoder
	CommitteeGroup string
}

// +kubebuilder:webhook:path=/validate-agreementapproval,mutating=false,failurePolicy=fail,sideEffects=None,groups=fivesafes.io,resources=agreementapprovals,verbs=create,versions=v1alpha1,name=validate.agreementapprovals.fivesafes.io,admissionReviewVersions=v1

// Handle validates the approval. It runs after the stamp, so spec.approver is the requester.
func (w *Approvals) Handle(ctx context.Context, req admission.Request) admission.Response {
	a := &fivesafesv1alpha1.AgreementApproval{}
	if err := w.Decoder.Decode(req, a); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	user := req.UserInfo.Username
	if !slices.Contains(req.UserInfo.Groups, w.CommitteeGroup) {
		return admission.Denied(fmt.Sprintf("%s is not a member of the data access committee (group %s), so cannot approve or reject agreements", user, w.CommitteeGroup))
	}
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := w.Reader.Get(ctx, client.ObjectKey{Name: a.Spec.Agreement}, daa); err != nil {
		if apierrors.IsNotFound(err) {
			return admission.Denied(fmt.Sprintf("there is no agreement named %s", a.Spec.Agreement))
		}
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading agreement %s: %w", a.Spec.Agreement, err))
	}
	for _, r := range daa.Spec.Researchers {
		if r.Name == user {
			return admission.Denied(fmt.Sprintf("%s is a researcher on agreement %s and cannot approve or reject it", user, daa.Name))
		}
	}
	if daa.Spec.Revocation != nil {
		return admission.Denied(fmt.Sprintf("agreement %s has been revoked; write a new agreement instead", daa.Name))
	}
	current, err := agreement.SpecDigest(daa.Spec)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("computing the digest of agreement %s: %w", daa.Name, err))
	}
	if a.Spec.SpecDigest != current {
		return admission.Denied(fmt.Sprintf("agreement %s has changed since you read it: you decided on %s but its current digest is %s; read it again and decide on the current version",
			daa.Name, a.Spec.SpecDigest, current))
	}
	return admission.Allowed("")
}
