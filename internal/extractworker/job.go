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

package extractworker

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Labels on extraction Jobs and their plan ConfigMaps.
const (
	// LabelComponent marks the objects of extraction Jobs.
	LabelComponent = "app.kubernetes.io/component"
	// ComponentExtract is LabelComponent's value on them.
	ComponentExtract = "extract"
	// LabelExtractNamespace and LabelExtractName name the DatasetExtract a Job works for.
	LabelExtractNamespace = "fivesafes.io/extract-namespace"
	LabelExtractName      = "fivesafes.io/extract-name"
	// AnnotationRun records the run a Job makes.
	AnnotationRun = "fivesafes.io/run"
)

// JobOptions say how extraction Jobs run.
type JobOptions struct {
	// Namespace is where Jobs run: the manager's own, which holds the key access Secrets.
	Namespace string
	// Image is the manager image; the worker is its `extract` command.
	Image string
	// Parallelism is how many parts run at once.
	Parallelism int32
	// StorageSecret holds the object store credentials under accessKey and secretKey.
	StorageSecret string
	// VaultAddress is Vault's URL.
	VaultAddress string
	// VaultCASecret, when set, names a Secret whose ca.crt is the CA of Vault's TLS server.
	VaultCASecret string
	// ImagePullSecrets name the Secrets the workers pull the image with.
	ImagePullSecrets []string
	// Resources are each worker's requests and limits; defaults when empty.
	Resources corev1.ResourceRequirements
}

// DefaultResources are a worker's requests and limits: a transform uses about two cores.
func DefaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("2Gi")},
	}
}

// Job returns the plan ConfigMap and the indexed Job that make the copy: one completion per
// source object, each running `/manager extract` with the plan, the agreement's key access
// Secret (keySecret) and the storage credentials. Pods run as restricted as Kubernetes allows,
// with no service account token: a worker talks to storage and Vault, never to the API server.
func Job(name, keySecret string, p Plan, labels map[string]string, o JobOptions) (*corev1.ConfigMap, *batchv1.Job, error) {
	body, err := p.Encode()
	if err != nil {
		return nil, nil, err
	}
	if len(body) > 900*1024 {
		return nil, nil, fmt.Errorf("the extraction plan is %d bytes, more than a ConfigMap holds", len(body))
	}
	all := map[string]string{LabelComponent: ComponentExtract, "app.kubernetes.io/part-of": "fivesafes"}
	for k, v := range labels {
		all[k] = v
	}
	meta := metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: all, Annotations: map[string]string{AnnotationRun: p.RunID}}
	cm := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{PlanFile: string(body)}}
	res := o.Resources
	if len(res.Requests) == 0 && len(res.Limits) == 0 {
		res = DefaultResources()
	}
	parts := int32(len(p.Objects)) //nolint:gosec // at most extractjob.MaxObjects
	parallelism := min(max(o.Parallelism, 1), parts)
	secretEnv := func(name, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: o.StorageSecret}, Key: key,
		}}}
	}
	env := []corev1.EnvVar{
		secretEnv("FIVESAFES_STORAGE_ACCESS_KEY", "accessKey"),
		secretEnv("FIVESAFES_STORAGE_SECRET_KEY", "secretKey"),
		{Name: "VAULT_ADDR", Value: o.VaultAddress},
		{Name: "GOMAXPROCS", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "plan", MountPath: PlanDir, ReadOnly: true},
		{Name: "key", MountPath: KeyDir, ReadOnly: true},
	}
	volumes := []corev1.Volume{
		{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name},
		}}},
		{Name: "key", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName:  keySecret,
			DefaultMode: ptr.To[int32](0o400),
		}}},
	}
	if o.VaultCASecret != "" {
		env = append(env, corev1.EnvVar{Name: "VAULT_CACERT", Value: VaultCADir + "/ca.crt"})
		mounts = append(mounts, corev1.VolumeMount{Name: "vault-ca", MountPath: VaultCADir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "vault-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: o.VaultCASecret, DefaultMode: ptr.To[int32](0o444),
			Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
		}}})
	}
	var pullSecrets []corev1.LocalObjectReference
	for _, s := range o.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: s})
	}
	job := &batchv1.Job{
		ObjectMeta: *meta.DeepCopy(),
		Spec: batchv1.JobSpec{
			CompletionMode:       ptr.To(batchv1.IndexedCompletion),
			Completions:          ptr.To(parts),
			Parallelism:          ptr.To(parallelism),
			BackoffLimitPerIndex: ptr.To[int32](3),
			MaxFailedIndexes:     ptr.To[int32](0),
			// A run is abandoned after a day; the controller then plans another.
			ActiveDeadlineSeconds: ptr.To[int64](24 * 3600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: all},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ImagePullSecrets:             pullSecrets,
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](65532),
						RunAsGroup:     ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:      "extract",
						Image:     o.Image,
						Command:   []string{"/manager", "extract"},
						Args:      []string{"--plan", PlanDir + "/" + PlanFile, "--key-dir", KeyDir},
						Env:       env,
						Resources: res,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	return cm, job, nil
}
