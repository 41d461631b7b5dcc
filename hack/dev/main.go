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

// Command dev runs the whole of Fivesafes locally on 127.0.0.1 (`make dev`): control plane,
// MinIO, Vault, the manager and the samples. Ctrl-C stops everything.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/fivesafes/fivesafes/internal/devstack"
)

func main() {
	o := devstack.Options{Out: os.Stdout, KubectlDir: os.Getenv("FIVESAFES_KUBECTL_DIR")}
	flag.StringVar(&o.Dir, "state", ".dev", "Directory for state, logs and kubeconfigs (kept across runs).")
	flag.StringVar(&o.Samples, "samples", "config/samples", "Directory of sample manifests to apply.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if err := devstack.Run(ctrl.SetupSignalHandler(), o); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}
