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
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testEpoch is the SOURCE_DATE_EPOCH the build tests use: 2023-11-14T22:13:20Z.
const testEpoch = 1700000000

func TestArchListSet(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr bool
	}{
		{name: "one", values: []string{"amd64"}, want: "amd64"},
		{name: "several in order", values: []string{"arm64", "amd64", "s390x"}, want: "arm64,amd64,s390x"},
		{name: "repeat", values: []string{"amd64", "amd64"}, wantErr: true},
		{name: "unknown", values: []string{"mips"}, wantErr: true},
		{name: "empty", values: []string{""}, wantErr: true},
		{name: "os prefix", values: []string{"linux/amd64"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a archList
			var err error
			for _, v := range tt.values {
				if err = a.Set(v); err != nil {
					break
				}
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Set(%q) succeeded, want an error", tt.values)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.String() != tt.want {
				t.Errorf("archList = %q, want %q", a.String(), tt.want)
			}
		})
	}
}

func TestValidateOptions(t *testing.T) {
	good := func() options {
		return options{Out: "out", Version: "v0.1.0", Archs: []string{"amd64"}, Created: time.Unix(0, 0)}
	}
	tests := []struct {
		name    string
		mutate  func(*options)
		wantErr bool
	}{
		{name: "defaults", mutate: func(*options) {}},
		{name: "version dev", mutate: func(o *options) { o.Version = "dev" }},
		{name: "version with build metadata characters", mutate: func(o *options) { o.Version = "v1.2.3-rc.1_x" }},
		{name: "version 128 characters", mutate: func(o *options) { o.Version = strings.Repeat("a", 128) }},
		{name: "version 129 characters", mutate: func(o *options) { o.Version = strings.Repeat("a", 129) }, wantErr: true},
		{name: "version empty", mutate: func(o *options) { o.Version = "" }, wantErr: true},
		{name: "version with plus", mutate: func(o *options) { o.Version = "v1.0.0+meta" }, wantErr: true},
		{name: "version with colon", mutate: func(o *options) { o.Version = "a:b" }, wantErr: true},
		{name: "version with slash", mutate: func(o *options) { o.Version = "../x" }, wantErr: true},
		{name: "version leading dot", mutate: func(o *options) { o.Version = ".x" }, wantErr: true},
		{name: "version leading dash", mutate: func(o *options) { o.Version = "-x" }, wantErr: true},
		{name: "no output", mutate: func(o *options) { o.Out = "" }, wantErr: true},
		{name: "no arch", mutate: func(o *options) { o.Archs = nil }, wantErr: true},
		{name: "repeated arch", mutate: func(o *options) { o.Archs = []string{"amd64", "amd64"} }, wantErr: true},
		{name: "unknown arch", mutate: func(o *options) { o.Archs = []string{"386"} }, wantErr: true},
		{name: "before epoch", mutate: func(o *options) { o.Created = time.Unix(-1, 0) }, wantErr: true},
		{name: "fractional second", mutate: func(o *options) { o.Created = time.Unix(1, 5) }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good()
			tt.mutate(&o)
			err := validateOptions(&o)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("validateOptions(%+v) succeeded, want an error", o)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Package != defaultPackage || o.Log == nil || o.Created.Location() != time.UTC {
				t.Errorf("defaults not filled in: package %q, log %v, location %v", o.Package, o.Log, o.Created.Location())
			}
		})
	}
}

func TestBuildEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin", "HOME=/root", "GOCACHE=/cache", "GOOS=darwin", "GOARCH=386",
		"CGO_ENABLED=1", "GOAMD64=v3", "GOARM64=v9.0", "GOFLAGS=-race", "GOEXPERIMENT=boringcrypto",
	}
	tests := []struct {
		arch string
		want []string
	}{
		{"amd64", []string{"PATH=/usr/bin", "HOME=/root", "GOCACHE=/cache", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"}},
		{"arm64", []string{"PATH=/usr/bin", "HOME=/root", "GOCACHE=/cache", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOARM64=v8.0"}},
		{"s390x", []string{"PATH=/usr/bin", "HOME=/root", "GOCACHE=/cache", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=s390x"}},
	}
	for _, tt := range tests {
		t.Run(tt.arch, func(t *testing.T) {
			if got := buildEnv(environ, tt.arch); !slices.Equal(got, tt.want) {
				t.Errorf("buildEnv(%s) = %q, want %q", tt.arch, got, tt.want)
			}
		})
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		epoch string
		want  int
	}{
		{name: "help", args: []string{"-h"}, want: 0},
		{name: "unknown flag", args: []string{"-push"}, want: 2},
		{name: "unknown arch", args: []string{"-arch", "sparc"}, want: 2},
		{name: "repeated arch", args: []string{"-arch", "amd64", "-arch", "amd64"}, want: 2},
		{name: "positional argument", args: []string{"extra"}, want: 2},
		{name: "bad SOURCE_DATE_EPOCH", args: []string{"-out", t.TempDir()}, epoch: "yesterday", want: 2},
		{name: "bad version", args: []string{"-out", t.TempDir(), "-version", "v1+x"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tt.epoch)
			var stdout, stderr bytes.Buffer
			if got := run(t.Context(), tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, got, tt.want, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("run(%q) printed %q on stdout, want nothing", tt.args, stdout.String())
			}
			if tt.want != 0 && stderr.Len() == 0 {
				t.Errorf("run(%q) failed without saying why", tt.args)
			}
		})
	}
}

// amd64Build is the single-architecture build shared by the tests that inspect it.
var amd64Build struct {
	once sync.Once
	res  *result
	err  error
}

// buildAMD64 builds the linux/amd64 image at testEpoch once per test binary.
func buildAMD64(t *testing.T) *result {
	t.Helper()
	amd64Build.once.Do(func() {
		dir, err := os.MkdirTemp("", "fivesafes-image-test-")
		if err != nil {
			amd64Build.err = err
			return
		}
		amd64Build.res, amd64Build.err = build(context.Background(), options{
			Out: filepath.Join(dir, "image"), Version: "test", Archs: []string{"amd64"},
			Created: time.Unix(testEpoch, 0), Log: t.Output(),
		})
	})
	if amd64Build.err != nil {
		t.Fatalf("building the image: %v", amd64Build.err)
	}
	return amd64Build.res
}

func TestMain(m *testing.M) {
	code := m.Run()
	if amd64Build.res != nil {
		os.RemoveAll(filepath.Dir(amd64Build.res.Layout))
	}
	os.Exit(code)
}

// layoutManifests reads the OCI layout's index.json back.
func layoutManifests(t *testing.T, dir string) (layout.Path, []v1.Descriptor) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("opening the OCI layout: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatalf("reading the layout index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatalf("reading the layout index manifest: %v", err)
	}
	return p, im.Manifests
}

// fileTree returns every tar entry of the image's layers, failing on a name seen twice, and
// writes the regular file at want (a path without a leading slash) to dst.
func fileTree(t *testing.T, img v1.Image, want, dst string) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	tree := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reading a layer: %v", err)
			}
			n := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
			if _, dup := tree[n]; dup {
				t.Errorf("%s appears in more than one place", n)
			}
			tree[n] = hdr
			if n == want && dst != "" {
				f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(f, tr); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return tree
}

// checkStaticELF fails unless path is a statically linked Linux executable for machine.
func checkStaticELF(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("the manager is not an ELF file: %v", err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("the manager is %v %v, want %v %v", f.Machine, f.Type, machine, elf.ET_EXEC)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the manager has a %v program header, want a static binary", p.Type)
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("the manager keeps its symbol table, want it stripped")
	}
}

func TestBuildImage(t *testing.T) {
	res := buildAMD64(t)

	p, descs := layoutManifests(t, res.Layout)
	if len(descs) != 1 {
		t.Fatalf("the layout lists %d manifests, want 1", len(descs))
	}
	desc := descs[0]
	if got := desc.Annotations[annotationRefName]; got != "fivesafes-manager:test" {
		t.Errorf("ref.name = %q, want fivesafes-manager:test", got)
	}
	if desc.Platform == nil || desc.Platform.OS != "linux" || desc.Platform.Architecture != "amd64" {
		t.Errorf("platform = %v, want linux/amd64", desc.Platform)
	}
	if desc.Digest != res.Digest {
		t.Errorf("layout digest %s, build reported %s", desc.Digest, res.Digest)
	}
	verifyManifest(t, res.Layout, desc)
	img, err := p.Image(desc.Digest)
	if err != nil {
		t.Fatalf("reading the image back: %v", err)
	}
	// go-containerregistry's own validation reads every blob back and checks its digest and
	// size, and the config's diff IDs, against the manifest.
	if err := validate.Image(img); err != nil {
		t.Errorf("the image does not validate: %v", err)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	uid, gid, ok := strings.Cut(cf.Config.User, ":")
	if !ok {
		t.Fatalf("User = %q, want uid:gid", cf.Config.User)
	}
	for _, id := range []string{uid, gid} {
		n, err := strconv.Atoi(id)
		if err != nil || n <= 0 {
			t.Errorf("User = %q, want numeric non-root ids", cf.Config.User)
		}
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/manager"}) || len(cf.Config.Cmd) != 0 {
		t.Errorf("Entrypoint %q Cmd %q, want [/manager] and no Cmd", cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if cf.Config.WorkingDir != "/" {
		t.Errorf("WorkingDir = %q, want /", cf.Config.WorkingDir)
	}
	for _, kv := range cf.Config.Env {
		if strings.HasPrefix(kv, "SSL_CERT_") {
			t.Errorf("Env sets %s, want the embedded roots used", kv)
		}
	}
	created := time.Unix(testEpoch, 0).UTC()
	if !cf.Created.Equal(created) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config created %v for %s/%s, want %v for linux/amd64", cf.Created, cf.OS, cf.Architecture, created)
	}
	for _, h := range cf.History {
		if !h.Created.Equal(created) {
			t.Errorf("history %q created %v, want %v", h.CreatedBy, h.Created, created)
		}
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.source":   "https://github.com/fivesafes/fivesafes",
		"org.opencontainers.image.version":  "test",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.title":    "fivesafes-manager",
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
	}
	for k, v := range wantLabels {
		if got := cf.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}

	bin := filepath.Join(t.TempDir(), "manager")
	tree := fileTree(t, img, "manager", bin)
	for n, h := range tree {
		if !h.ModTime.Equal(created) {
			t.Errorf("%s mtime %v, want %v", n, h.ModTime, created)
		}
	}
	mgr, ok := tree["manager"]
	if !ok {
		t.Fatal("the image has no /manager")
	}
	if mgr.Typeflag != tar.TypeReg || mgr.Mode != 0o755 || mgr.Uid != 0 || mgr.Gid != 0 {
		t.Errorf("/manager type %q mode %o owner %d:%d, want a root-owned 0755 file", mgr.Typeflag, mgr.Mode, mgr.Uid, mgr.Gid)
	}
	if h := tree["tmp"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("/tmp = %+v, want mode 1777", h)
	}
	if h := tree["home/nonroot"]; h == nil || strconv.Itoa(h.Uid) != uid || strconv.Itoa(h.Gid) != gid {
		t.Errorf("/home/nonroot = %+v, want owned by %s:%s", h, uid, gid)
	}
	checkStaticELF(t, bin, elf.EM_X86_64)

	t.Run("manager runs", func(t *testing.T) {
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			t.Skipf("cannot run a linux/amd64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "--help")
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("/manager --help: %v\n%s", err, out)
		}
		if !bytes.Contains(out, []byte("Usage: manager")) {
			t.Errorf("/manager --help printed no usage:\n%s", out)
		}
	})

	t.Run("tarball", func(t *testing.T) {
		tag, err := name.NewTag("ghcr.io/fivesafes/manager:test")
		if err != nil {
			t.Fatal(err)
		}
		if res.TarballRef != tag.String() {
			t.Errorf("tarball ref %q, want %q", res.TarballRef, tag)
		}
		timg, err := tarball.ImageFromPath(res.Tarball, &tag)
		if err != nil {
			t.Fatalf("loading the tarball as %s: %v", tag, err)
		}
		if _, err := timg.Manifest(); err != nil {
			t.Fatalf("the tarball image has no usable manifest: %v", err)
		}
		wantCfg, _ := img.ConfigName()
		gotCfg, err := timg.ConfigName()
		if err != nil || gotCfg != wantCfg {
			t.Errorf("tarball config %s (%v), want %s", gotCfg, err, wantCfg)
		}
		if got, want := layerDigests(t, timg), layerDigests(t, img); !slices.Equal(got, want) {
			t.Errorf("tarball layers %v, want %v", got, want)
		}
	})
}

// layerDigests returns the compressed digests of the image's layers.
func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// fileDigest returns the SHA-256 of a file's bytes.
func fileDigest(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestBuildIsReproducible(t *testing.T) {
	first := buildAMD64(t)
	again := func(epoch int64) *result {
		t.Helper()
		res, err := build(t.Context(), options{
			Out: filepath.Join(t.TempDir(), "image"), Version: "test", Archs: []string{"amd64"},
			Created: time.Unix(epoch, 0), Log: t.Output(),
		})
		if err != nil {
			t.Fatalf("building the image again: %v", err)
		}
		return res
	}

	second := again(testEpoch)
	if second.Digest != first.Digest {
		t.Errorf("two builds at the same SOURCE_DATE_EPOCH gave %s and %s", first.Digest, second.Digest)
	}
	if fileDigest(t, first.Tarball) != fileDigest(t, second.Tarball) {
		t.Error("two builds at the same SOURCE_DATE_EPOCH wrote different tarballs")
	}

	later := again(testEpoch + 1)
	if later.Digest == first.Digest {
		t.Error("builds at different SOURCE_DATE_EPOCH gave the same digest, want the time recorded")
	}
}

func TestBuildRewritesOutput(t *testing.T) {
	res := buildAMD64(t)
	// A second build into the same directory replaces the layout rather than adding to it, and
	// leaves files it did not write alone.
	keep := filepath.Join(res.Layout, "keep.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(res.Layout, "blobs", "sha256", strings.Repeat("0", 64))
	if err := os.WriteFile(stale, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := build(t.Context(), options{
		Out: res.Layout, Version: "test", Archs: []string{"amd64"}, Created: time.Unix(testEpoch, 0), Log: t.Output(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, descs := layoutManifests(t, res.Layout); len(descs) != 1 || descs[0].Digest != again.Digest {
		t.Errorf("the layout lists %v after a rebuild, want only %s", descs, again.Digest)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a stale blob survived the rebuild: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file the build did not write was removed: %v", err)
	}
}

func TestBuildIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the manager for arm64 as well")
	}
	res, err := build(t.Context(), options{
		Out: filepath.Join(t.TempDir(), "image"), Version: "v0.0.1", Archs: []string{"amd64", "arm64"},
		Created: time.Unix(testEpoch, 0), Log: t.Output(),
	})
	if err != nil {
		t.Fatalf("building the index: %v", err)
	}
	p, descs := layoutManifests(t, res.Layout)
	if len(descs) != 1 || descs[0].Digest != res.Digest || descs[0].Annotations[annotationRefName] != "fivesafes-manager:v0.0.1" {
		t.Fatalf("layout index lists %+v, want one index %s named fivesafes-manager:v0.0.1", descs, res.Digest)
	}
	verifyIndex(t, res.Layout, descs[0])
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	ii, err := idx.ImageIndex(res.Digest)
	if err != nil {
		t.Fatalf("reading the index back: %v", err)
	}
	if err := validate.Index(ii); err != nil {
		t.Errorf("the index does not validate: %v", err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations["org.opencontainers.image.source"] != sourceURL {
		t.Errorf("index annotations %v, want the source label", im.Annotations)
	}
	want := []struct {
		arch, variant string
		machine       elf.Machine
	}{
		{"amd64", "", elf.EM_X86_64},
		{"arm64", "v8", elf.EM_AARCH64},
	}
	if len(im.Manifests) != len(want) {
		t.Fatalf("the index lists %d manifests, want %d", len(im.Manifests), len(want))
	}
	for i, w := range want {
		d := im.Manifests[i]
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != w.arch || d.Platform.Variant != w.variant {
			t.Errorf("manifest %d platform %v, want linux/%s variant %q", i, d.Platform, w.arch, w.variant)
		}
		img, err := ii.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != w.arch || cf.Variant != w.variant {
			t.Errorf("config for %s says %s/%s", w.arch, cf.Architecture, cf.Variant)
		}
		bin := filepath.Join(t.TempDir(), "manager")
		fileTree(t, img, "manager", bin)
		checkStaticELF(t, bin, w.machine)
	}
	if len(res.Images) != 2 || res.Images[0].Digest != im.Manifests[0].Digest {
		t.Errorf("build reported images %v, want the index's in order", res.Images)
	}
	timg, err := tarball.ImageFromPath(res.Tarball, nil)
	if err != nil {
		t.Fatalf("loading the tarball: %v", err)
	}
	tcf, err := timg.ConfigFile()
	if err != nil || tcf.Architecture != "amd64" {
		t.Errorf("the tarball holds %v (%v), want the first architecture, amd64", tcf, err)
	}
}

// readBlob reads the blob desc names from an OCI layout on disk and checks its size and digest.
func readBlob(t *testing.T, dir string, desc v1.Descriptor) []byte {
	t.Helper()
	if desc.Digest.Algorithm != "sha256" {
		t.Fatalf("blob %s uses %s, want sha256", desc.Digest, desc.Digest.Algorithm)
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", desc.Digest.Hex))
	if err != nil {
		t.Fatalf("reading blob %s: %v", desc.Digest, err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != desc.Digest.Hex || int64(len(b)) != desc.Size {
		t.Fatalf("blob %s: %d bytes with sha256:%x, want %d bytes", desc.Digest, len(b), sum, desc.Size)
	}
	return b
}

// verifyManifest checks an image in an OCI layout from the bytes on disk: every blob matches its
// descriptor, the media types are OCI ones, each layer's uncompressed digest is the config's
// diff_id for it, and the history accounts for every layer.
func verifyManifest(t *testing.T, dir string, desc v1.Descriptor) {
	t.Helper()
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", desc.MediaType, types.OCIManifestSchema1)
	}
	m, err := v1.ParseManifest(bytes.NewReader(readBlob(t, dir, desc)))
	if err != nil {
		t.Fatalf("parsing the manifest: %v", err)
	}
	if m.SchemaVersion != 2 || m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest schema %d type %s config type %s, want an OCI image manifest", m.SchemaVersion, m.MediaType, m.Config.MediaType)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(readBlob(t, dir, m.Config)))
	if err != nil {
		t.Fatalf("parsing the config: %v", err)
	}
	if len(m.Layers) == 0 || len(m.Layers) != len(cf.RootFS.DiffIDs) || cf.RootFS.Type != "layers" {
		t.Fatalf("%d layers, %d diff_ids, rootfs type %q", len(m.Layers), len(cf.RootFS.DiffIDs), cf.RootFS.Type)
	}
	var nonEmpty int
	for _, h := range cf.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(m.Layers) {
		t.Errorf("history has %d layer entries, want %d", nonEmpty, len(m.Layers))
	}
	for i, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %d media type %s, want %s", i, l.MediaType, types.OCILayer)
		}
		zr, err := gzip.NewReader(bytes.NewReader(readBlob(t, dir, l)))
		if err != nil {
			t.Fatalf("layer %d is not gzip: %v", i, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, zr); err != nil {
			t.Fatalf("decompressing layer %d: %v", i, err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != cf.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d uncompressed digest %s, config diff_id %s", i, got, cf.RootFS.DiffIDs[i])
		}
	}
}

// verifyIndex checks an image index in an OCI layout from the bytes on disk, and every image it
// lists.
func verifyIndex(t *testing.T, dir string, desc v1.Descriptor) {
	t.Helper()
	if desc.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", desc.MediaType, types.OCIImageIndex)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(readBlob(t, dir, desc)))
	if err != nil {
		t.Fatalf("parsing the index: %v", err)
	}
	if im.SchemaVersion != 2 || im.MediaType != types.OCIImageIndex || len(im.Manifests) == 0 {
		t.Fatalf("index schema %d type %s with %d manifests, want an OCI index", im.SchemaVersion, im.MediaType, len(im.Manifests))
	}
	for _, d := range im.Manifests {
		verifyManifest(t, dir, d)
	}
}
