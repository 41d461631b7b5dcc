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
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

const (
	// nonrootID is the uid and gid the manager runs as, the same as distroless images use.
	nonrootID = 65532
	// maxSourceDateEpoch is the last second of the year 9999, the latest time an image
	// configuration (RFC 3339) can carry.
	maxSourceDateEpoch = 253402300799
)

// passwd is the image's /etc/passwd: root, nobody and the nonroot user, none with a login shell.
//
//nolint:gosec // account names and shells, no credentials
const passwd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`

// group is the image's /etc/group, with the groups that passwd names.
const group = `root:x:0:
nobody:x:65534:
nonroot:x:65532:
`

// entry is one file or directory in a layer.
type entry struct {
	// Name is the path in the image without a leading slash.
	Name string
	// Type is tar.TypeDir or tar.TypeReg.
	Type byte
	// Mode holds the permission bits, including the sticky bit.
	Mode int64
	// UID and GID own the entry.
	UID, GID int
	// Data is the content of a small regular file.
	Data []byte
	// File names a host file whose content is the content of a large regular file; it is used
	// instead of Data when set.
	File string
}

// baseEntries returns the filesystem the manager needs besides its own binary: the user and
// group databases, a home directory for the nonroot user, root's home and a world-writable,
// sticky /tmp. Entries are in lexical order so the layer bytes do not depend on map or
// directory order.
func baseEntries() []entry {
	return []entry{
		{Name: "etc", Type: tar.TypeDir, Mode: 0o755},
		{Name: "etc/group", Type: tar.TypeReg, Mode: 0o644, Data: []byte(group)},
		{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644, Data: []byte(passwd)},
		{Name: "home", Type: tar.TypeDir, Mode: 0o755},
		{Name: "home/nonroot", Type: tar.TypeDir, Mode: 0o700, UID: nonrootID, GID: nonrootID},
		{Name: "root", Type: tar.TypeDir, Mode: 0o700},
		{Name: "tmp", Type: tar.TypeDir, Mode: 0o1777},
	}
}

// binaryEntries returns the layer that holds the manager binary at /manager, owned by root and
// not writable by the user the container runs as.
func binaryEntries(hostPath string) []entry {
	return []entry{{Name: "manager", Type: tar.TypeReg, Mode: 0o755, File: hostPath}}
}

// writeTar writes entries as an uncompressed tar stream with every modification time set to
// mtime and no access or change times, user names or other host details, so the bytes depend
// only on the entries and mtime.
func writeTar(w io.Writer, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := writeEntry(tw, e, mtime); err != nil {
			return fmt.Errorf("writing %s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("closing tar stream: %w", err)
	}
	return nil
}

// writeEntry writes one entry's header and content.
func writeEntry(tw *tar.Writer, e entry, mtime time.Time) error {
	hdr := &tar.Header{
		Typeflag: e.Type,
		Name:     e.Name,
		Mode:     e.Mode,
		Uid:      e.UID,
		Gid:      e.GID,
		ModTime:  mtime,
	}
	var content io.Reader
	switch e.Type {
	case tar.TypeDir:
		hdr.Name += "/"
	case tar.TypeReg:
		if e.File == "" {
			hdr.Size = int64(len(e.Data))
			break
		}
		f, err := os.Open(e.File)
		if err != nil {
			return fmt.Errorf("opening source file: %w", err)
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return fmt.Errorf("reading source file size: %w", err)
		}
		if !info.Mode().IsRegular() {
			return errors.New("source is not a regular file")
		}
		hdr.Size = info.Size()
		content = f
	default:
		return fmt.Errorf("unsupported tar type %q", e.Type)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing header: %w", err)
	}
	if e.Type != tar.TypeReg {
		return nil
	}
	if content == nil {
		_, err := tw.Write(e.Data)
		return err
	}
	n, err := io.Copy(tw, content)
	if err != nil {
		return fmt.Errorf("copying content: %w", err)
	}
	if n != hdr.Size {
		return fmt.Errorf("source file changed size while being read: %d bytes, expected %d", n, hdr.Size)
	}
	return nil
}

// writeLayerFile writes entries to path as a gzip-compressed tar. The gzip header carries no
// name or time, so equal entries and mtime give equal bytes.
func writeLayerFile(path string, entries []entry, mtime time.Time) (err error) {
	f, err := os.Create(path) //nolint:gosec // a path under the -out directory
	if err != nil {
		return fmt.Errorf("creating layer file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing layer file: %w", cerr)
		}
	}()
	zw, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("starting gzip: %w", err)
	}
	if err := writeTar(zw, entries, mtime); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finishing gzip: %w", err)
	}
	return nil
}

// parseSourceDateEpoch reads SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/):
// an empty value means the Unix epoch; otherwise it must be a non-negative decimal count of
// seconds no later than the year 9999.
func parseSourceDateEpoch(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH must be a whole number of seconds: %w", err)
	}
	if secs < 0 || secs > maxSourceDateEpoch {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH must be between 0 and %d", maxSourceDateEpoch)
	}
	return time.Unix(secs, 0).UTC(), nil
}
