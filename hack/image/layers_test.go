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
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSourceDateEpoch(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Unix(0, 0)},
		{in: "0", want: time.Unix(0, 0)},
		{in: "1700000000", want: time.Unix(1700000000, 0)},
		{in: "253402300799", want: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{in: "253402300800", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: " 1", wantErr: true},
		{in: "1e9", wantErr: true},
		{in: "0x10", wantErr: true},
		{in: "99999999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSourceDateEpoch(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseSourceDateEpoch(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSourceDateEpoch(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("parseSourceDateEpoch(%q) = %v, want %v in UTC", tt.in, got, tt.want)
			}
		})
	}
}

// readTar returns the headers and regular file contents of an uncompressed tar stream, in order.
func readTar(t *testing.T, r io.Reader) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	var hdrs []*tar.Header
	data := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return hdrs, data
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		hdrs = append(hdrs, hdr)
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("reading %s: %v", hdr.Name, err)
			}
			data[hdr.Name] = b
		}
	}
}

func TestBaseLayerEntries(t *testing.T) {
	mtime := time.Unix(1234567890, 0)
	var buf bytes.Buffer
	if err := writeTar(&buf, baseEntries(), mtime); err != nil {
		t.Fatal(err)
	}
	hdrs, data := readTar(t, &buf)

	want := []struct {
		name     string
		typ      byte
		mode     int64
		uid, gid int
	}{
		{"etc/", tar.TypeDir, 0o755, 0, 0},
		{"etc/group", tar.TypeReg, 0o644, 0, 0},
		{"etc/passwd", tar.TypeReg, 0o644, 0, 0},
		{"home/", tar.TypeDir, 0o755, 0, 0},
		{"home/nonroot/", tar.TypeDir, 0o700, 65532, 65532},
		{"root/", tar.TypeDir, 0o700, 0, 0},
		{"tmp/", tar.TypeDir, 0o1777, 0, 0},
	}
	if len(hdrs) != len(want) {
		t.Fatalf("base layer has %d entries, want %d", len(hdrs), len(want))
	}
	for i, w := range want {
		h := hdrs[i]
		if h.Name != w.name || h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != w.uid || h.Gid != w.gid {
			t.Errorf("entry %d = %s type %q mode %o owner %d:%d, want %s type %q mode %o owner %d:%d",
				i, h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, w.name, w.typ, w.mode, w.uid, w.gid)
		}
		if !h.ModTime.Equal(mtime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s times = m %v a %v c %v, want m %v and no others", h.Name, h.ModTime, h.AccessTime, h.ChangeTime, mtime)
		}
		if h.Uname != "" || h.Gname != "" || len(h.PAXRecords) != 0 {
			t.Errorf("%s carries host details: uname %q gname %q pax %v", h.Name, h.Uname, h.Gname, h.PAXRecords)
		}
	}

	users := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data["etc/passwd"])), "\n") {
		f := strings.Split(line, ":")
		if len(f) != 7 {
			t.Fatalf("passwd line %q has %d fields, want 7", line, len(f))
		}
		users[f[0]] = f[2] + ":" + f[3] + ":" + f[5]
	}
	if got := users["nonroot"]; got != "65532:65532:/home/nonroot" {
		t.Errorf("passwd nonroot = %q, want uid 65532, gid 65532, home /home/nonroot", got)
	}
	groups := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data["etc/group"])), "\n") {
		f := strings.Split(line, ":")
		if len(f) != 4 {
			t.Fatalf("group line %q has %d fields, want 4", line, len(f))
		}
		groups[f[0]] = f[2]
	}
	if groups["nonroot"] != "65532" || groups["root"] != "0" {
		t.Errorf("groups = %v, want nonroot 65532 and root 0", groups)
	}
}

func TestWriteLayerFileIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("\x7fELF binary"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	entries := append(baseEntries(), binaryEntries(bin)...)
	write := func(name string, mtime time.Time) []byte {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := writeLayerFile(p, entries, mtime); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A different host file time must not leak into the layer.
	a := write("a.tar.gz", time.Unix(0, 0))
	if err := os.Chtimes(bin, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	b := write("b.tar.gz", time.Unix(0, 0))
	if !bytes.Equal(a, b) {
		t.Error("two layers of the same entries and time differ")
	}
	if c := write("c.tar.gz", time.Unix(1, 0)); bytes.Equal(a, c) {
		t.Error("layers with different times are equal, want the time recorded")
	}
}

func TestWriteTarRejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		entry entry
	}{
		{"missing source file", entry{Name: "manager", Type: tar.TypeReg, Mode: 0o755, File: filepath.Join(dir, "absent")}},
		{"source is a directory", entry{Name: "manager", Type: tar.TypeReg, Mode: 0o755, File: dir}},
		{"symlink type", entry{Name: "link", Type: tar.TypeSymlink, Mode: 0o777}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := writeTar(io.Discard, []entry{tt.entry}, time.Unix(0, 0)); err == nil {
				t.Errorf("writeTar(%+v) succeeded, want an error", tt.entry)
			}
		})
	}
}
