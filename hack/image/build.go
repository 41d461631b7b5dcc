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

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// defaultPackage is the package compiled into /manager, relative to the module root.
	defaultPackage = "./cmd/manager"
	// tarballName is the docker-save tarball's file name inside the output directory.
	tarballName = "manager.tar"
	// layoutRepository names the image in the OCI layout's org.opencontainers.image.ref.name.
	layoutRepository = "fivesafes-manager"
	// tarballRepository names the image in the docker-save tarball.
	tarballRepository = "ghcr.io/fivesafes/manager"
	// sourceURL is the org.opencontainers.image.source label.
	sourceURL = "https://github.com/fivesafes/fivesafes"
	// ldflags strips the symbol table, DWARF and the build ID, which would otherwise differ
	// between builds.
	ldflags = "-s -w -buildid="
	// annotationRefName is the OCI annotation that names a manifest in an image layout.
	annotationRefName = "org.opencontainers.image.ref.name"
)

// platform says how to build and describe the image for one architecture.
type platform struct {
	// variant is the OCI platform variant, empty when the architecture has none.
	variant string
	// level pins the architecture level (GOAMD64 and friends) to Go's default so a setting in
	// the caller's environment does not change the binary.
	level string
}

// platforms lists the architectures the manager image is built for.
var platforms = map[string]platform{
	"amd64":   {level: "GOAMD64=v1"},
	"arm64":   {variant: "v8", level: "GOARM64=v8.0"},
	"ppc64le": {level: "GOPPC64=power8"},
	"riscv64": {level: "GORISCV64=rva20u64"},
	"s390x":   {},
}

// versionPattern is the grammar of an image tag.
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// archList is a repeatable -arch flag.
type archList []string

// String returns the architectures joined by commas.
func (a *archList) String() string { return strings.Join(*a, ",") }

// Set adds one architecture, refusing unknown ones and repeats.
func (a *archList) Set(v string) error {
	if _, ok := platforms[v]; !ok {
		return fmt.Errorf("unsupported architecture %q (supported: amd64, arm64, ppc64le, riscv64, s390x)", v)
	}
	for _, have := range *a {
		if have == v {
			return fmt.Errorf("architecture %q given twice", v)
		}
	}
	*a = append(*a, v)
	return nil
}

// options configures one image build.
type options struct {
	// Out is the directory the OCI layout and the tarball are written to.
	Out string
	// Version is the image tag and version label.
	Version string
	// Archs lists the target architectures; more than one makes an index.
	Archs []string
	// Created is the image creation time and every file's modification time.
	Created time.Time
	// Package is the Go package compiled into /manager, relative to the module root.
	Package string
	// Log receives progress lines and the compiler's output; nil discards them.
	Log io.Writer
}

// archImage is the image built for one architecture.
type archImage struct {
	// Arch is the GOARCH the image was built for.
	Arch string
	// Digest is the image manifest's digest.
	Digest v1.Hash
	// Image is the image itself.
	Image v1.Image
}

// result describes what build wrote.
type result struct {
	// Digest is the digest of the image, or of the index when there are several
	// architectures.
	Digest v1.Hash
	// Images are the per-architecture images in the order asked for.
	Images []archImage
	// Layout is the OCI layout directory.
	Layout string
	// LayoutRef is the org.opencontainers.image.ref.name given to the top-level manifest.
	LayoutRef string
	// Tarball is the path of the docker-save tarball.
	Tarball string
	// TarballRef is the tag the tarball carries.
	TarballRef string
}

// build compiles the manager for each architecture, assembles the images and writes the OCI
// layout and the tarball.
func build(ctx context.Context, opts options) (*result, error) {
	if err := validateOptions(&opts); err != nil {
		return nil, err
	}
	tag, err := name.NewTag(tarballRepository+":"+opts.Version, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("making the tarball tag: %w", err)
	}
	root, goVersion, err := goEnv(ctx)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "fivesafes-image-")
	if err != nil {
		return nil, fmt.Errorf("creating a work directory: %w", err)
	}
	defer os.RemoveAll(work)

	basePath := filepath.Join(work, "base.tar.gz")
	if err := writeLayerFile(basePath, baseEntries(), opts.Created); err != nil {
		return nil, fmt.Errorf("writing the base layer: %w", err)
	}
	base, err := tarball.LayerFromFile(basePath, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("reading the base layer: %w", err)
	}

	res := &result{
		Layout:     opts.Out,
		LayoutRef:  layoutRepository + ":" + opts.Version,
		Tarball:    filepath.Join(opts.Out, tarballName),
		TarballRef: tag.String(),
	}
	for _, arch := range opts.Archs {
		img, err := buildArch(ctx, opts, root, goVersion, work, arch, base)
		if err != nil {
			return nil, err
		}
		d, err := img.Digest()
		if err != nil {
			return nil, fmt.Errorf("computing the linux/%s image digest: %w", arch, err)
		}
		res.Images = append(res.Images, archImage{Arch: arch, Digest: d, Image: img})
	}

	fmt.Fprintf(opts.Log, "Writing %s\n", opts.Out)
	if err := prepareOut(opts.Out); err != nil {
		return nil, err
	}
	lp, err := layout.Write(opts.Out, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("starting the OCI layout: %w", err)
	}
	refName := layout.WithAnnotations(map[string]string{annotationRefName: res.LayoutRef})
	if len(res.Images) == 1 {
		only := res.Images[0]
		res.Digest = only.Digest
		if err := lp.AppendImage(only.Image, refName, layout.WithPlatform(ociPlatform(only.Arch))); err != nil {
			return nil, fmt.Errorf("writing the image to the OCI layout: %w", err)
		}
	} else {
		idx := imageIndex(res.Images, labels(opts.Version, opts.Created))
		if res.Digest, err = idx.Digest(); err != nil {
			return nil, fmt.Errorf("computing the index digest: %w", err)
		}
		if err := lp.AppendIndex(idx, refName); err != nil {
			return nil, fmt.Errorf("writing the index to the OCI layout: %w", err)
		}
	}
	if err := tarball.WriteToFile(res.Tarball, tag, res.Images[0].Image); err != nil {
		return nil, fmt.Errorf("writing the linux/%s image tarball: %w", res.Images[0].Arch, err)
	}
	return res, nil
}

// validateOptions checks opts and fills in defaults.
func validateOptions(opts *options) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Package == "" {
		opts.Package = defaultPackage
	}
	if opts.Out == "" {
		return errors.New("the output directory is empty")
	}
	if !versionPattern.MatchString(opts.Version) {
		return errors.New("the version must be an image tag: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'")
	}
	if len(opts.Archs) == 0 {
		return errors.New("no architecture given")
	}
	seen := map[string]bool{}
	for _, a := range opts.Archs {
		if _, ok := platforms[a]; !ok || seen[a] {
			return fmt.Errorf("architecture %q is unsupported or repeated", a)
		}
		seen[a] = true
	}
	if opts.Created.Before(time.Unix(0, 0)) || opts.Created.Nanosecond() != 0 {
		return errors.New("the creation time must be a whole second at or after the Unix epoch")
	}
	opts.Created = opts.Created.UTC()
	return nil
}

// goEnv returns the module root and the Go toolchain version, asking the go command from the
// current directory.
func goEnv(ctx context.Context) (root, goVersion string, err error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD", "GOVERSION")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("asking the go command for the module root: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || lines[0] == "" || lines[0] == os.DevNull {
		return "", "", errors.New("not inside a Go module: run from the fivesafes module")
	}
	return filepath.Dir(lines[0]), strings.TrimSpace(lines[1]), nil
}

// buildArch compiles the manager for arch and assembles its image on top of base.
func buildArch(ctx context.Context, opts options, root, goVersion, work, arch string, base v1.Layer) (v1.Image, error) {
	bin := filepath.Join(work, "manager-"+arch)
	fmt.Fprintf(opts.Log, "Compiling %s for linux/%s\n", opts.Package, arch)
	if err := compile(ctx, opts, root, arch, bin); err != nil {
		return nil, err
	}
	layerPath := bin + ".tar.gz"
	if err := writeLayerFile(layerPath, binaryEntries(bin), opts.Created); err != nil {
		return nil, fmt.Errorf("writing the linux/%s manager layer: %w", arch, err)
	}
	layer, err := tarball.LayerFromFile(layerPath, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("reading the linux/%s manager layer: %w", arch, err)
	}
	img, err := assemble(arch, opts, goVersion, base, layer)
	if err != nil {
		return nil, fmt.Errorf("assembling the linux/%s image: %w", arch, err)
	}
	return img, nil
}

// compile builds the manager as a static, reproducible Linux binary for arch at dst.
func compile(ctx context.Context, opts options, root, arch, dst string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dst, //nolint:gosec // the go tool with this program's own flags
		"-trimpath", "-ldflags="+ldflags, "-buildvcs=false", opts.Package)
	cmd.Dir = root
	cmd.Env = buildEnv(os.Environ(), arch)
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("compiling %s for linux/%s: %w", opts.Package, arch, err)
	}
	return nil
}

// buildEnv returns environ with every setting that changes the compiled binary replaced by the
// values the image is built with: no cgo, Linux, arch at Go's default level, no experiments and
// no extra flags.
func buildEnv(environ []string, arch string) []string {
	pinned := map[string]bool{
		"CGO_ENABLED": true, "GOOS": true, "GOARCH": true, "GOFLAGS": true, "GOEXPERIMENT": true,
		"GOAMD64": true, "GOARM64": true, "GOARM": true, "GO386": true, "GOPPC64": true,
		"GORISCV64": true, "GOMIPS": true, "GOMIPS64": true, "GOWASM": true,
	}
	env := make([]string, 0, len(environ)+4)
	for _, kv := range environ {
		key, _, _ := strings.Cut(kv, "=")
		if !pinned[key] {
			env = append(env, kv)
		}
	}
	env = append(env, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if level := platforms[arch].level; level != "" {
		env = append(env, level)
	}
	return env
}

// labels returns the OCI labels of the image, also used as the annotations of an index.
func labels(version string, created time.Time) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "fivesafes-manager",
		"org.opencontainers.image.description": "Fivesafes trusted research environment operator: controllers and admission webhooks",
		"org.opencontainers.image.source":      sourceURL,
		"org.opencontainers.image.url":         sourceURL,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
	}
}

// ociPlatform returns the OCI platform of a linux/arch image.
func ociPlatform(arch string) v1.Platform {
	return v1.Platform{OS: "linux", Architecture: arch, Variant: platforms[arch].variant}
}

// assemble makes the OCI image for arch from the base and manager layers.
func assemble(arch string, opts options, goVersion string, base, manager v1.Layer) (v1.Image, error) {
	p := ociPlatform(arch)
	created := v1.Time{Time: opts.Created}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      created,
		Config: v1.Config{
			User:       strconv.Itoa(nonrootID) + ":" + strconv.Itoa(nonrootID),
			Entrypoint: []string{"/manager"},
			WorkingDir: "/",
			Labels:     labels(opts.Version, opts.Created),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting the configuration: %w", err)
	}
	env := strings.Join(buildEnv(nil, arch), " ")
	return mutate.Append(img,
		mutate.Addendum{
			Layer:     base,
			MediaType: types.OCILayer,
			History: v1.History{
				Created:   created,
				CreatedBy: "hack/image: /etc/passwd, /etc/group, /home/nonroot, /root, /tmp",
				Comment:   "nonroot user and group " + strconv.Itoa(nonrootID),
			},
		},
		mutate.Addendum{
			Layer:     manager,
			MediaType: types.OCILayer,
			History: v1.History{
				Created:   created,
				CreatedBy: fmt.Sprintf("%s go build -trimpath -ldflags='%s' -buildvcs=false %s", env, ldflags, opts.Package),
				Comment:   goVersion,
			},
		},
	)
}

// imageIndex makes the OCI index of the per-architecture images.
func imageIndex(images []archImage, annotations map[string]string) v1.ImageIndex {
	adds := make([]mutate.IndexAddendum, 0, len(images))
	for _, img := range images {
		p := ociPlatform(img.Arch)
		adds = append(adds, mutate.IndexAddendum{
			Add:        img.Image,
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &p},
		})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return mutate.Annotations(idx, annotations).(v1.ImageIndex)
}

// prepareOut creates the output directory and removes what an earlier build wrote there, and
// nothing else, so stale blobs do not linger in the layout.
func prepareOut(out string) error {
	if err := os.MkdirAll(out, 0o750); err != nil {
		return fmt.Errorf("creating the output directory: %w", err)
	}
	for _, old := range []string{"blobs", "index.json", "oci-layout", tarballName} {
		if err := os.RemoveAll(filepath.Join(out, old)); err != nil {
			return fmt.Errorf("removing the previous %s: %w", old, err)
		}
	}
	return nil
}
