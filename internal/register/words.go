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

package register

import fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"

// LegalBasisWords says a legal basis the way the register prints it.
func LegalBasisWords(b fivesafesv1alpha1.LegalBasis) string {
	switch b {
	case fivesafesv1alpha1.LegalBasisSection251:
		return "Section 251 approval is in place for the flow of identifiable data (NHS Act 2006)"
	case fivesafesv1alpha1.LegalBasisHealthAndSocialCareAct2012:
		return "Health and Social Care Act 2012"
	case fivesafesv1alpha1.LegalBasisConsent:
		return "Informed patient consent to permit the receipt, processing and release of data"
	case fivesafesv1alpha1.LegalBasisDirectCare:
		return "Direct care: the data are used to care for the patients themselves"
	case fivesafesv1alpha1.LegalBasisPublicTask:
		return "Performance of a task carried out in the public interest (UK GDPR Article 6(1)(e))"
	case fivesafesv1alpha1.LegalBasisAnonymised:
		return "Anonymised data: no identifiable data flow"
	}
	return string(b)
}

// SensitivityWords says a sensitivity the way the register prints it.
func SensitivityWords(s fivesafesv1alpha1.Sensitivity) string {
	switch s {
	case fivesafesv1alpha1.SensitivitySensitive:
		return "Sensitive"
	case fivesafesv1alpha1.SensitivityNonSensitive:
		return "Non-sensitive"
	}
	return string(s)
}

// AccessMethodWords says an access method the way the register prints it.
func AccessMethodWords(a fivesafesv1alpha1.AccessMethod) string {
	switch a {
	case fivesafesv1alpha1.AccessOneOff:
		return "One-off"
	case fivesafesv1alpha1.AccessOngoing, "":
		return "Ongoing"
	}
	return string(a)
}

// SublicensingWords says whether sublicensing is allowed, the way the register prints it.
func SublicensingWords(s fivesafesv1alpha1.Sublicensing) string {
	if s == fivesafesv1alpha1.SublicensingAllowed {
		return "Yes"
	}
	return "No"
}
