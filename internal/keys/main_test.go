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

package keys

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/fivesafes/fivesafes/internal/stack"
)

// A Vault dev server with transit at transit/ is started by the first test that needs one and
// shared; each test uses its own keys, policies and tokens. Pure tests and fuzz workers never
// start it; the Vault tests fail, never skip, when it cannot start. (The server comes from
// internal/stack: internal/testenv imports the manager, which may import this package.)
var shared = stack.SharedVault()

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// rootClient returns a root client on the shared Vault; with wc, its requests go through wc.
func rootClient(t testing.TB, wc *stack.WriteCounter) *vault.Client {
	t.Helper()
	server, err := shared.Get()
	if err != nil {
		t.Fatal(err)
	}
	cfg := vault.DefaultConfig()
	cfg.Address = server.Addr
	cfg.Timeout = 30 * time.Second
	cfg.MaxRetries = 0
	if wc != nil {
		wc.Base = cfg.HttpClient.Transport
		cfg.HttpClient.Transport = wc
	}
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(server.RootToken)
	return c
}

// clientWith returns a client on the shared Vault that authenticates with token.
func clientWith(t testing.TB, root *vault.Client, token string) *vault.Client {
	t.Helper()
	c, err := root.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

var nameSeq atomic.Int64

// unique returns prefix followed by a number no other call in this run returns.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}
