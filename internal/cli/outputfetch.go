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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/egress"
)

// maxFetchBytes bounds one fetched file: no output a checker reviews is larger than egress allows.
const maxFetchBytes = 1 << 30

func init() {
	outputSubcommands = append(outputSubcommands, newOutputFetchCmd)
}

func newOutputFetchCmd(s streams, kube *kubeFlags) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "fetch NAME",
		Short: "Fetch, as an output checker, the checked snapshot of a request's files to review them",
		Long: `Download the exact snapshot of a request's files that the automatic checks saw (and their
sidecars), to review them. The operator keeps short-lived URLs of the snapshot in a Secret only
the output checkers group can read, renewed while the request awaits review; each issuance is in
the audit log. Every file is checked against the sha256 in the request's status before it is
written, so what you review is what your review approves (the content digest is printed).

Example:
  fivesafes output fetch readmissions -n ws-nic-38002-s3k0v --dir ./review/readmissions`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := clusterAndNamespace(kube)
			if err != nil {
				return usageError("%w", err)
			}
			if dir == "" {
				dir = args[0]
			}
			return runOutputFetch(cmd.Context(), s, c, http.DefaultClient, ns, args[0], dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "Directory to write the files under (default: the request's name).")
	return cmd
}

func runOutputFetch(ctx context.Context, s streams, c client.Client, hc *http.Client, ns, name, dir string) error {
	or := &fivesafesv1alpha1.OutputRequest{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, or); err != nil {
		return usageError("reading output request %s/%s: %w", ns, name, err)
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-review"}, secret); err != nil {
		return usageError("reading the review copy of %s (only output checkers can, while it awaits review): %w", name, err)
	}
	if got := string(secret.Data["contentDigest"]); got != string(or.Status.ContentDigest) {
		return usageError("the review copy is of content %s but the request is now %s; try again in a moment", got, or.Status.ContentDigest)
	}
	var urls map[string]string
	if err := json.Unmarshal(secret.Data["urls.json"], &urls); err != nil {
		return usageError("reading the review copy URLs: %w", err)
	}
	want := map[string]fivesafesv1alpha1.Digest{}
	for _, f := range or.Status.Files {
		want[f.Path] = f.SHA256
	}
	paths := make([]string, 0, len(urls))
	for p := range urls {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	root, err := filepath.Abs(dir)
	if err != nil {
		return usageError("resolving %s: %w", dir, err)
	}
	for _, p := range paths {
		dst := filepath.Join(root, filepath.FromSlash(p))
		if !strings.HasPrefix(dst, root+string(filepath.Separator)) {
			return fmt.Errorf("the review copy names a path outside %s: %q", dir, p)
		}
		digest, err := fetchTo(ctx, hc, urls[p], dst)
		if err != nil {
			return fmt.Errorf("fetching %s: %w", p, err)
		}
		if w, ok := want[p]; ok && string(w) != digest {
			_ = os.Remove(dst)
			return fmt.Errorf("fetching %s: its sha256 is %s, not %s as checked", p, digest, w)
		}
		if _, ok := want[p]; !ok && !strings.HasSuffix(p, egress.SidecarSuffix) {
			_ = os.Remove(dst)
			return fmt.Errorf("the review copy holds %s, which the request does not name", p)
		}
		fmt.Fprintf(s.out, "%s  %s\n", digest, filepath.Join(dir, filepath.FromSlash(p)))
	}
	fmt.Fprintf(s.out, "Content %s: review it with `fivesafes output review %s --approve|--request-changes|--reject --comment ...`\n", or.Status.ContentDigest, name)
	return nil
}

// fetchTo downloads link into dst and returns the sha256 of what it wrote.
func fetchTo(ctx context.Context, hc *http.Client, link, dst string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL carries a signature: say what failed without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			return "", fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the object store answered %s (the URLs may have expired: ask again in a moment)", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return "", err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) //nolint:gosec // a path under the chosen directory, checked above
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, maxFetchBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxFetchBytes {
		err = fmt.Errorf("larger than %d bytes", maxFetchBytes)
	}
	if err != nil {
		_ = os.Remove(dst)
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
