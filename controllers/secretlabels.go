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
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// ManagedSecrets selects the Secrets the manager reads through its cache: those it made, which
// carry its managed-by label. The cache holds no other Secret of the cluster.
func ManagedSecrets() labels.Selector {
	return labels.SelectorFromSet(labels.Set{LabelManagedBy: managedBy})
}

// LabelOwnedSecrets gives the managed-by label to every Secret owned by a Fivesafes object that
// lacks it: Secrets made before the manager's cache was limited to labelled Secrets, which it
// would otherwise no longer see. The manager makes Secrets only in the system namespace and in
// workspace namespaces, so only those are read: the Secrets of the rest of the cluster are not.
// It reads with reader, straight from the API server, a page at a time, and writes with c; run
// before the controllers start, it lets none of them mistake an existing Secret for a missing one.
func LabelOwnedSecrets(ctx context.Context, reader client.Reader, c client.Client, systemNamespace string) (int, error) {
	namespaces, err := managedNamespaces(ctx, reader, systemNamespace)
	if err != nil {
		return 0, err
	}
	labelled := 0
	for _, ns := range namespaces {
		n, err := labelOwnedSecretsIn(ctx, reader, c, ns)
		labelled += n
		if err != nil {
			return labelled, err
		}
	}
	return labelled, nil
}

// managedNamespaces returns the system namespace and the namespace of every Workspace, sorted.
func managedNamespaces(ctx context.Context, reader client.Reader, systemNamespace string) ([]string, error) {
	set := map[string]bool{systemNamespace: true}
	opts := []client.ListOption{client.Limit(500)}
	for {
		var list fivesafesv1alpha1.WorkspaceList
		if err := reader.List(ctx, &list, opts...); err != nil {
			return nil, fmt.Errorf("listing Workspaces to find the Secrets to label: %w", err)
		}
		for i := range list.Items {
			set[WorkspaceNamespace(list.Items[i].Spec.Agreement)] = true
		}
		if list.Continue == "" {
			break
		}
		opts = []client.ListOption{client.Limit(500), client.Continue(list.Continue)}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

func labelOwnedSecretsIn(ctx context.Context, reader client.Reader, c client.Client, namespace string) (int, error) {
	labelled := 0
	opts := []client.ListOption{client.InNamespace(namespace), client.Limit(500)}
	for {
		var list corev1.SecretList
		if err := reader.List(ctx, &list, opts...); err != nil {
			return labelled, fmt.Errorf("listing the Secrets of %s to label: %w", namespace, err)
		}
		for i := range list.Items {
			s := &list.Items[i]
			if s.Labels[LabelManagedBy] == managedBy || !ownedByFivesafes(s) {
				continue
			}
			patch := client.MergeFrom(s.DeepCopy())
			s.Labels = mergeLabels(s.Labels, map[string]string{LabelManagedBy: managedBy})
			if err := c.Patch(ctx, s, patch); client.IgnoreNotFound(err) != nil {
				return labelled, fmt.Errorf("labelling Secret %s/%s: %w", s.Namespace, s.Name, err)
			}
			labelled++
		}
		if list.Continue == "" {
			return labelled, nil
		}
		opts = []client.ListOption{client.InNamespace(namespace), client.Limit(500), client.Continue(list.Continue)}
	}
}

func ownedByFivesafes(s *corev1.Secret) bool {
	for _, o := range s.OwnerReferences {
		if strings.HasPrefix(o.APIVersion, fivesafesv1alpha1.GroupVersion.Group+"/") {
			return true
		}
	}
	return false
}
