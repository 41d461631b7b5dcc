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

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

func init() {
	outputSubcommands = append(outputSubcommands, newOutputDownloadCmd)
}

func newOutputDownloadCmd(s streams, kube *kubeFlags) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "download NAME",
		Short: "Get short-lived download URLs for the files of a released output request",
		Long: `Ask the operator for download URLs of a released request's files. The operator records the
issuance in the audit log and puts the URLs in a Secret only the requester can read; they stop
working after the platform's expiry (15 minutes by default). Your own storage credentials never
reach released files.

Example:
  fivesafes output download readmissions -n ws-nic-38002-s3k0v`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := clusterAndNamespace(kube)
			if err != nil {
				return usageError("%w", err)
			}
			return runOutputDownload(cmd.Context(), s, c, ns, args[0], wait)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "How long to wait for the URLs.")
	return cmd
}

func runOutputDownload(ctx context.Context, s streams, c client.Client, ns, name string, wait time.Duration) error {
	or := &fivesafesv1alpha1.OutputRequest{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, or); err != nil {
		return usageError("reading output request %s/%s: %w", ns, name, err)
	}
	if or.Status.Phase != fivesafesv1alpha1.OutputReleased {
		return usageError("output request %s is %s, not Released: only released files can be downloaded", name, or.Status.Phase)
	}
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	patch := client.MergeFrom(or.DeepCopy())
	if or.Annotations == nil {
		or.Annotations = map[string]string{}
	}
	or.Annotations[fivesafesv1alpha1.AnnotationDownloadRequested] = stamp
	if err := c.Patch(ctx, or, patch); err != nil {
		return usageError("asking for download URLs: %w", err)
	}
	deadline := time.Now().Add(wait)
	secret := &corev1.Secret{}
	for {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-download"}, secret)
		if err == nil && string(secret.Data["requestedAt"]) == stamp {
			break
		}
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return usageError("reading download URLs: %w", err)
		}
		if time.Now().After(deadline) {
			return usageError("no download URLs within %s; only the requester of %s can read them (check `fivesafes output status %s`)", wait, name, name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	var urls map[string]string
	if err := json.Unmarshal(secret.Data["urls.json"], &urls); err != nil {
		return usageError("reading download URLs: %w", err)
	}
	paths := make([]string, 0, len(urls))
	for p := range urls {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	fmt.Fprintf(s.out, "Download URLs for %s, valid until %s:\n", name, secret.Data["expiresAt"])
	for _, p := range paths {
		fmt.Fprintf(s.out, "  %s\n    %s\n", p, urls[p])
	}
	return nil
}
