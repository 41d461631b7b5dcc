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

// Package cli implements the fivesafes command: agreements, synthetic data, output checks, the
// audit log and the public register. Commands that need no cluster work offline.
package cli

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	// ExitOK means success (and, for checks, that everything passed).
	ExitOK = 0
	// ExitFindings means a check ran and found something: invalid, review, fail or broken.
	ExitFindings = 1
	// ExitUsage means bad usage or an I/O error: nothing was checked.
	ExitUsage = 2
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// findings ends a command with ExitFindings and no further message: the output already said why.
func findings() error { return &exitError{code: ExitFindings} }

// usageError ends a command with ExitUsage and the message.
func usageError(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// streams are a command's standard streams.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// Execute runs the command line args and returns the process exit code.
func Execute(args []string, in io.Reader, out, errOut io.Writer) int {
	s := streams{in: in, out: out, err: errOut}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(errOut, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(errOut, "Error:", err)
	return ExitUsage
}

func newRoot(s streams) *cobra.Command {
	kube := &kubeFlags{}
	root := &cobra.Command{
		Use:   "fivesafes",
		Short: "Work with Fivesafes: agreements, data, outputs, audit and the release register",
		Long: `fivesafes is the command-line tool of the Fivesafes trusted research environment.

Committees write, validate and approve data access agreements; researchers check and request
outputs; output checkers review them; auditors verify the audit log and publish the data release
register. Commands that need no cluster (validate, digest, synth, output check, audit verify
--from, register --from) work offline.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	kube.bind(root.PersistentFlags())
	root.AddCommand(newVersionCmd(s))
	for _, add := range subcommands {
		root.AddCommand(add(s, kube))
	}
	return root
}

// subcommands are added by the files that implement them.
var subcommands []func(streams, *kubeFlags) *cobra.Command

func newVersionCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this build",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			version := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				version = bi.Main.Version
			}
			_, err := fmt.Fprintf(s.out, "fivesafes %s\n", version)
			return err
		},
	}
}
