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

package controllers

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Names of the objects a workspace is made of.
const (
	// LabelWorkspace marks every object made for a workspace with the workspace's name.
	LabelWorkspace = "fivesafes.io/workspace"
	// LabelManagedBy marks objects the operator manages.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// AnnotationAllowedImages on a workspace namespace lists, comma-separated, the images its
	// pods may run: the agreement's allow-list, read by the pod policy.
	AnnotationAllowedImages = "fivesafes.io/allowed-images"
	managedBy               = "fivesafes"

	netpolDefaultDeny  = "default-deny"
	netpolDNS          = "allow-dns"
	netpolObjectStore  = "allow-object-store"
	quotaName          = "workspace"
	limitRangeName     = "workspace"
	workloadSA         = "workload"
	researchersBinding = "researchers"
	credentialsRole    = "storage-credentials-reader"
	// CredentialsSecret holds the workspace's object storage credentials in its namespace.
	CredentialsSecret = "storage-credentials"
	// ResearcherClusterRole is the role researchers hold inside their workspace namespace.
	ResearcherClusterRole = "fivesafes-researcher"
	// PodPolicyName is the ValidatingAdmissionPolicy that confines workspace pods.
	PodPolicyName = "fivesafes-workspace-pods"
)

// WorkspaceNamespace is the namespace of the workspace for an agreement.
func WorkspaceNamespace(agreement string) string { return "ws-" + agreement }

// WorkspaceBucket is the object storage bucket of the workspace for an agreement.
func WorkspaceBucket(agreement string) string { return "ws-" + agreement }

// WorkspaceStorageUser is the object storage user confined to the workspace bucket.
func WorkspaceStorageUser(agreement string) string { return "ws-" + agreement }

// WorkspaceKey is the Vault transit key holding the agreement's pseudonymisation key.
func WorkspaceKey(agreement string) string { return "fivesafes-" + agreement }

func workspaceLabels(ws *fivesafesv1alpha1.Workspace) map[string]string {
	return map[string]string{LabelWorkspace: ws.Name, LabelManagedBy: managedBy}
}

func mergeLabels(dst map[string]string, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// namespaceLabels enforce Pod Security "restricted" in every mode.
func namespaceLabels(ws *fivesafesv1alpha1.Workspace) map[string]string {
	l := workspaceLabels(ws)
	for _, mode := range []string{"enforce", "audit", "warn"} {
		l["pod-security.kubernetes.io/"+mode] = "restricted"
		l["pod-security.kubernetes.io/"+mode+"-version"] = "latest"
	}
	return l
}

// NetworkSettings say what a workspace may reach: cluster DNS and the object store, nothing else.
type NetworkSettings struct {
	// DNSNamespace and DNSPodLabels select the cluster DNS pods.
	DNSNamespace string
	DNSPodLabels map[string]string
	// ObjectStoreCIDR and ObjectStorePort are where the object store answers.
	ObjectStoreCIDR string
	ObjectStorePort int32
}

func desiredNetworkPolicies(ns string, n NetworkSettings) map[string]networkingv1.NetworkPolicySpec {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	dnsPort := intstr.FromInt32(53)
	storePort := intstr.FromInt32(n.ObjectStorePort)
	_ = ns
	return map[string]networkingv1.NetworkPolicySpec{
		netpolDefaultDeny: {
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
		netpolDNS: {
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": n.DNSNamespace}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: n.DNSPodLabels},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dnsPort}, {Protocol: &tcp, Port: &dnsPort}},
			}},
		},
		netpolObjectStore: {
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: n.ObjectStoreCIDR}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &storePort}},
			}},
		},
	}
}

func desiredQuota(r fivesafesv1alpha1.WorkspaceResources) corev1.ResourceQuotaSpec {
	return corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourceRequestsCPU:     r.CPU,
		corev1.ResourceLimitsCPU:       r.CPU,
		corev1.ResourceRequestsMemory:  r.Memory,
		corev1.ResourceLimitsMemory:    r.Memory,
		corev1.ResourceRequestsStorage: r.Storage,
	}}
}

// desiredLimitRange gives containers that say nothing modest requests and limits, so the quota
// can account for them.
func desiredLimitRange() corev1.LimitRangeSpec {
	return corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type:           corev1.LimitTypeContainer,
		Default:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")},
		DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}}}
}

func researcherSubjects(ws *fivesafesv1alpha1.Workspace) []rbacv1.Subject {
	subjects := make([]rbacv1.Subject, 0, len(ws.Spec.Researchers))
	for _, r := range ws.Spec.Researchers {
		subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: r})
	}
	return subjects
}

// desiredPodPolicy is the cluster-wide policy for pods in every workspace namespace: images on
// the agreement's allow-list only (the namespace's AnnotationAllowedImages, which only the
// operator writes), nothing privileged or host-level, and no service account token. A namespace
// without the annotation allows no image.
func desiredPodPolicy() admissionregistrationv1.ValidatingAdmissionPolicySpec {
	containers := "(object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []) + (has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : []))"
	allowed := "has(namespaceObject.metadata.annotations) && '" + AnnotationAllowedImages + "' in namespaceObject.metadata.annotations ? " +
		"namespaceObject.metadata.annotations['" + AnnotationAllowedImages + "'].split(',') : []"
	fail := admissionregistrationv1.Fail
	return admissionregistrationv1.ValidatingAdmissionPolicySpec{
		FailurePolicy: &fail,
		MatchConstraints: &admissionregistrationv1.MatchResources{
			// The API server's defaults, written out so a resync compares equal and writes nothing.
			NamespaceSelector: &metav1.LabelSelector{},
			ObjectSelector:    &metav1.LabelSelector{},
			MatchPolicy:       ptr.To(admissionregistrationv1.Equivalent),
			ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule: admissionregistrationv1.Rule{
						APIGroups: []string{""}, APIVersions: []string{"v1"},
						Resources: []string{"pods", "pods/ephemeralcontainers"},
						Scope:     ptr.To(admissionregistrationv1.NamespacedScope),
					},
				},
			}},
		},
		Variables: []admissionregistrationv1.Variable{
			{Name: "containers", Expression: containers},
			{Name: "allowed", Expression: allowed},
		},
		Validations: []admissionregistrationv1.Validation{
			{
				Expression:        "variables.containers.all(c, variables.allowed.exists(i, i != '' && (c.image == i || c.image.startsWith(i + ':') || c.image.startsWith(i + '@'))))",
				MessageExpression: "'every container image must be on the agreement\\'s allow-list: ' + variables.allowed.join(', ')",
				Reason:            ptr.To(metav1.StatusReasonForbidden),
			},
			{
				Expression: "variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged == false)",
				Message:    "privileged containers are not allowed in a workspace",
				Reason:     ptr.To(metav1.StatusReasonForbidden),
			},
			{
				Expression: "!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && !(has(object.spec.hostPID) && object.spec.hostPID) && !(has(object.spec.hostIPC) && object.spec.hostIPC)",
				Message:    "host networking and host namespaces are not allowed in a workspace",
				Reason:     ptr.To(metav1.StatusReasonForbidden),
			},
			{
				Expression: "!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath) && (!has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(s, !has(s.serviceAccountToken))))",
				Message:    "host paths and service account token volumes are not allowed in a workspace",
				Reason:     ptr.To(metav1.StatusReasonForbidden),
			},
			{
				Expression: "!has(object.spec.automountServiceAccountToken) || object.spec.automountServiceAccountToken == false",
				Message:    "pods in a workspace do not get a service account token: leave automountServiceAccountToken unset or false",
				Reason:     ptr.To(metav1.StatusReasonForbidden),
			},
		},
	}
}

// desiredPodPolicyBinding binds the pod policy to every workspace namespace. One binding, made
// once, covers each namespace from the moment it is created with its label: nothing waits for a
// per-namespace binding to reach the API server's admission chain.
func desiredPodPolicyBinding() admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec {
	return admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
		PolicyName: PodPolicyName,
		MatchResources: &admissionregistrationv1.MatchResources{
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: LabelWorkspace, Operator: metav1.LabelSelectorOpExists},
			}},
			ObjectSelector: &metav1.LabelSelector{},
			MatchPolicy:    ptr.To(admissionregistrationv1.Equivalent),
		},
		ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
	}
}
