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
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// VaultClient returns a root client for a Vault dev server.
func VaultClient(v *Vault) (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.Addr
	cfg.Timeout = 30 * time.Second
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating vault client: %w", err)
	}
	c.SetToken(v.RootToken)
	return c, nil
}

// EnableTransit mounts the transit secrets engine at transit/ unless it is mounted already.
func EnableTransit(ctx context.Context, v *Vault) error {
	c, err := VaultClient(v)
	if err != nil {
		return err
	}
	err = c.Sys().MountWithContext(ctx, "transit", &vaultapi.MountInput{Type: "transit"})
	if err != nil && !strings.Contains(err.Error(), "path is already in use") {
		return fmt.Errorf("mounting vault transit engine: %w", err)
	}
	return nil
}
