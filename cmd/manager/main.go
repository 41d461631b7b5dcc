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

// Command manager runs the Fivesafes operator: the controllers that turn approved data access
// agreements into isolated workspaces, copy minimised and pseudonymised data into them, and let
// outputs leave only through checked, reviewed and audited requests; and the admission webhooks
// that stamp who approved, requested and reviewed what.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/fivesafes/fivesafes/internal/extractworker"
	"github.com/fivesafes/fivesafes/internal/manager"

	// Trust roots built into the binary, so it verifies TLS in an image without a CA bundle.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "extract" {
		// An extraction Job's worker: one part of a dataset copy.
		os.Exit(extractworker.Main(ctrl.SetupSignalHandler(), os.Args[2:], os.Stdout, os.Stderr))
	}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	opts := manager.DefaultOptions()
	opts.BindFlags(fs)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: manager [flags]\n       manager extract [flags]\n\nRuns the Fivesafes controllers and admission webhooks; `manager extract` is an extraction Job's worker.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "Unable to load a kubeconfig")
		os.Exit(1)
	}
	if err := manager.Run(ctrl.SetupSignalHandler(), cfg, opts); err != nil {
		log.Error(err, "Manager stopped with an error")
		os.Exit(1)
	}
}
