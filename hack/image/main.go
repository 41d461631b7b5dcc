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

// Command image builds the Fivesafes manager container image without a container engine and
// without pulling a base image.
//
// It compiles ./cmd/manager as a static Linux binary for each requested architecture and lays it
// on a filesystem made from scratch: /manager, an /etc/passwd and /etc/group naming the nonroot
// user and group 65532, a home directory for that user and a world-writable /tmp. The result is
// written as an OCI image layout (an image, or an index when several architectures are asked
// for) and as a tarball that docker load, podman load and kind load image-archive accept.
//
// Builds are reproducible: the compiler flags strip build IDs and paths, every tar entry and the
// image's creation time come from SOURCE_DATE_EPOCH (the Unix epoch when unset), and layers are
// compressed without timestamps, so the same tree built with the same Go toolchain gives the same
// digest.
//
// Usage:
//
//	go run ./hack/image [-out DIR] [-version V] [-arch A]...
//
// The top-level digest (of the image, or of the index) is printed on standard output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the command line, builds the image and reports it, and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var archs archList
	opts := options{Package: defaultPackage}
	fs.StringVar(&opts.Out, "out", "bin/image", "directory to write the OCI image layout and "+tarballName+" into")
	fs.StringVar(&opts.Version, "version", "dev", "image version: the tag, and the org.opencontainers.image.version label")
	fs.Var(&archs, "arch", "target architecture (amd64, arm64, ppc64le, riscv64, s390x); repeat for a multi-architecture index, "+
		"whose first architecture is the one written to "+tarballName+" (default amd64)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./hack/image [flags]\n\n"+
			"Builds the manager image as an OCI layout and a docker-save tarball, with no container engine.\n"+
			"SOURCE_DATE_EPOCH sets the creation time and every file time (default 0).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "image: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	opts.Archs = archs
	if len(opts.Archs) == 0 {
		opts.Archs = archList{"amd64"}
	}
	epoch, err := parseSourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		fmt.Fprintf(stderr, "image: %v\n", err)
		return 2
	}
	opts.Created = epoch
	opts.Log = stderr

	res, err := build(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "image: %v\n", err)
		return 1
	}
	for _, img := range res.Images {
		fmt.Fprintf(stderr, "linux/%s\t%s\n", img.Arch, img.Digest)
	}
	fmt.Fprintf(stderr, "Wrote OCI layout %s (%s) and %s (%s)\n", res.Layout, res.LayoutRef, res.Tarball, res.TarballRef)
	fmt.Fprintln(stdout, res.Digest)
	return 0
}
