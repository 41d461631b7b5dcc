//go:build tools

// Package vaulttools pins the Vault server the test harness and the local stack run in dev mode.
package vaulttools

import _ "github.com/hashicorp/vault"
