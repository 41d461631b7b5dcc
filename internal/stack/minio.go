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

package stack

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// MinIOOptions configure a MinIO server.
type MinIOOptions struct {
	// DataDir holds the single drive. It is kept across restarts.
	DataDir string
	// LogPath receives the server's output.
	LogPath string
	// Port is the S3 port on 127.0.0.1; 0 picks a free one.
	Port int
	// RootUser and RootPassword are the administrator credentials.
	RootUser, RootPassword string
}

// MinIO is a running single-drive MinIO server on loopback.
type MinIO struct {
	*Process
	// Endpoint is host:port of the S3 API.
	Endpoint string
	// Port is the S3 API's port on 127.0.0.1.
	Port int
	// RootUser and RootPassword are the administrator credentials.
	RootUser, RootPassword string
}

// StartMinIOIn starts MinIO with its drive in dir/data and its log in dir/minio.log.
func StartMinIOIn(ctx context.Context, dir string) (*MinIO, error) {
	return StartMinIO(ctx, MinIOOptions{DataDir: filepath.Join(dir, "data"), LogPath: filepath.Join(dir, "minio.log")})
}

// StartMinIO starts MinIO and waits until it is live.
func StartMinIO(ctx context.Context, o MinIOOptions) (*MinIO, error) {
	dir, err := BinaryDir(ToolMinIO, "minio")
	if err != nil {
		return nil, err
	}
	if o.Port == 0 {
		if o.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if o.RootUser == "" {
		o.RootUser, o.RootPassword = "fivesafes-admin", "fivesafes-admin-secret"
	}
	endpoint := loopback(o.Port)
	env := []string{
		"MINIO_ROOT_USER=" + o.RootUser,
		"MINIO_ROOT_PASSWORD=" + o.RootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CALLHOME_ENABLE=off",
		"MINIO_SCANNER_SPEED=slowest",
	}
	args := []string{"server", o.DataDir, "--address", endpoint, "--quiet", "--anonymous"}
	p, err := startProcess("minio", filepath.Join(dir, "minio"), args, env, o.LogPath)
	if err != nil {
		return nil, err
	}
	// Ready, not just live: a live server may still answer "Server not initialized yet". The
	// readiness check itself answers 200 before the object layer is up, and says so only in a
	// header.
	ready := func(resp *http.Response) bool {
		return resp.StatusCode == http.StatusOK && resp.Header.Get("X-Minio-Server-Status") != "offline"
	}
	client := &http.Client{Timeout: 2 * time.Second}
	if err := poll(ctx, client, p, "http://"+endpoint+"/minio/health/ready", 60*time.Second, ready); err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("starting minio: %w", err)
	}
	return &MinIO{Process: p, Endpoint: endpoint, Port: o.Port, RootUser: o.RootUser, RootPassword: o.RootPassword}, nil
}
