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
	"path/filepath"
	"time"
)

// VaultOptions configure a Vault dev server.
type VaultOptions struct {
	// LogPath receives the server's output.
	LogPath string
	// Port is the API port on 127.0.0.1; 0 picks a free one.
	Port int
	// RootToken is the dev server's root token.
	RootToken string
}

// Vault is a running Vault dev server on loopback. A dev server keeps everything in memory:
// its keys are gone when it stops.
type Vault struct {
	*Process
	// Addr is the server's URL, e.g. http://127.0.0.1:8200.
	Addr string
	// RootToken is the root token.
	RootToken string
}

// StartVault starts a Vault dev server and waits until it is unsealed and active.
func StartVault(ctx context.Context, o VaultOptions) (*Vault, error) {
	dir, err := BinaryDir(ToolVault, "vault")
	if err != nil {
		return nil, err
	}
	if o.Port == 0 {
		if o.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if o.RootToken == "" {
		o.RootToken = "fivesafes-dev-root"
	}
	addr := "http://" + loopback(o.Port)
	args := []string{
		"server", "-dev",
		"-dev-root-token-id=" + o.RootToken,
		"-dev-listen-address=" + loopback(o.Port),
		"-dev-no-store-token",
	}
	env := []string{"VAULT_DISABLE_USER_LOCKOUT=true", "SKIP_SETCAP=1"}
	p, err := startProcess("vault", filepath.Join(dir, "vault"), args, env, o.LogPath)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, addr+"/v1/sys/health", 60*time.Second, 200); err != nil {
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("starting vault: %w", err)
	}
	return &Vault{Process: p, Addr: addr, RootToken: o.RootToken}, nil
}
