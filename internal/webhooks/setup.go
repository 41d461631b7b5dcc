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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Options configure the webhooks.
type Options struct {
	CommitteeGroup string
	CheckersGroup  string
	Validator      AgreementValidator
}

// Register adds every webhook to the manager's webhook server at the paths the generated
// configuration (config/webhook) names.
func Register(mgr ctrl.Manager, o Options) {
	srv := mgr.GetWebhookServer()
	dec := admission.NewDecoder(mgr.GetScheme())
	reader := mgr.GetAPIReader()
	srv.Register("/stamp-agreementapproval", &webhook.Admission{Handler: Stamp{Field: "approver"}})
	srv.Register("/stamp-outputrequest", &webhook.Admission{Handler: Stamp{
		Field: "requester", Asked: fivesafesv1alpha1.AnnotationDownloadRequested, AskedBy: fivesafesv1alpha1.AnnotationDownloadRequestedBy,
		State: "state", StateValue: string(fivesafesv1alpha1.RequestWithdrawn), StateBy: fivesafesv1alpha1.AnnotationWithdrawnBy,
	}})
	srv.Register("/stamp-outputreview", &webhook.Admission{Handler: Stamp{Field: "reviewer"}})
	srv.Register("/validate-dataaccessagreement", &webhook.Admission{Handler: &Agreements{Reader: reader, Decoder: dec, Validator: o.Validator}})
	srv.Register("/validate-agreementapproval", &webhook.Admission{Handler: &Approvals{Reader: reader, Decoder: dec, CommitteeGroup: o.CommitteeGroup}})
	srv.Register("/validate-outputrequest", &webhook.Admission{Handler: &OutputRequests{Decoder: dec}})
	srv.Register("/validate-outputreview", &webhook.Admission{Handler: &Reviews{Reader: reader, Decoder: dec, CheckersGroup: o.CheckersGroup}})
}
