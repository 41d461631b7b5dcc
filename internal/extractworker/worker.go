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
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/fivesafes/fivesafes/internal/extractjob"
)

// Paths inside the worker pod.
const (
	// PlanDir is where the plan ConfigMap is mounted.
	PlanDir = "/etc/fivesafes/plan"
	// KeyDir is where the agreement's key access Secret is mounted.
	KeyDir = "/etc/fivesafes/key"
	// VaultCADir is where the CA of Vault's TLS server is mounted, when there is one.
	VaultCADir = "/etc/fivesafes/vault-ca"
)

// Run makes part index (from 0) of the copy the plan describes.
func Run(ctx context.Context, p Plan, index int, a Access) (extractjob.Object, error) {
	in, closeKey, err := Input(ctx, p, a)
	if err != nil {
		return extractjob.Object{}, err
	}
	defer closeKey()
	return extractjob.RunPart(ctx, in, index)
}

// Main is the worker's command line: `manager extract [--plan FILE] [--key-dir DIR] [--index N]`.
// The index defaults to $JOB_COMPLETION_INDEX, which an indexed Job sets; storage credentials
// come from FIVESAFES_STORAGE_ACCESS_KEY and FIVESAFES_STORAGE_SECRET_KEY and Vault's address
// from VAULT_ADDR. It prints the part it made as JSON. The exit code is 0 on success, 1 when the
// part could not be made, 2 on a usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	fs.SetOutput(stderr)
	planFile := fs.String("plan", PlanDir+"/"+PlanFile, "The extraction plan.")
	keyDir := fs.String("key-dir", KeyDir, "Directory holding the agreement's key access (token, wrappedDataKey).")
	index := fs.Int("index", -1, "The part to make, from 0 (default $JOB_COMPLETION_INDEX).")
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, "Usage: manager extract [flags]\n\nMakes one part of a dataset copy planned by the DatasetExtract controller.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *index < 0 {
		v, err := strconv.Atoi(os.Getenv("JOB_COMPLETION_INDEX"))
		if err != nil || v < 0 {
			_, _ = fmt.Fprintln(stderr, "extract: no --index and no JOB_COMPLETION_INDEX")
			return 2
		}
		*index = v
	}
	b, err := os.ReadFile(*planFile)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "extract: %v\n", err)
		return 2
	}
	p, err := DecodePlan(b)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "extract: %v\n", err)
		return 2
	}
	a := Access{
		StorageAccessKey: os.Getenv("FIVESAFES_STORAGE_ACCESS_KEY"),
		StorageSecretKey: os.Getenv("FIVESAFES_STORAGE_SECRET_KEY"),
		VaultAddress:     os.Getenv("VAULT_ADDR"),
		KeyDir:           *keyDir,
	}
	obj, err := Run(ctx, p, *index, a)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "extract: part %d of %s: %v\n", *index, p.Provenance.Dataset, err)
		return 1
	}
	out, _ := json.Marshal(obj)
	_, _ = fmt.Fprintln(stdout, string(out))
	return 0
}
