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

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/egress"
)

// OutputRequests refuses a request naming a path the egress checks would refuse: beyond the
// CRD's own pattern, names that are hidden, reserved on Windows, differ only in case, or make a
// file of another path's folder.
type OutputRequests struct {
	Decoder admission.Decoder
}

// +kubebuilder:webhook:path=/validate-outputrequest,mutating=false,failurePolicy=fail,sideEffects=None,groups=fivesafes.io,resources=outputrequests,verbs=create;update,versions=v1alpha1,name=validate.outputrequests.fivesafes.io,admissionReviewVersions=v1

// Handle validates the request's paths.
func (w *OutputRequests) Handle(_ context.Context, req admission.Request) admission.Response {
	or := &fivesafesv1alpha1.OutputRequest{}
	if err := w.Decoder.Decode(req, or); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	paths := make([]string, 0, len(or.Spec.Files))
	for _, f := range or.Spec.Files {
		paths = append(paths, f.Path)
	}
	if err := egress.ValidPaths(paths); err != nil {
		return admission.Denied(fmt.Sprintf("the requested files must be plain paths under outputs/: %v", err))
	}
	return admission.Allowed("")
}
