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

package pseudonym

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/fivesafes/fivesafes/internal/stack"
)

// A Vault dev server is started by the first test that needs one and stopped after the last
// test. Unit tests of the pure parts run without it; the Vault tests fail, never skip, when the
// binary is missing.
var shared = stack.SharedVault()

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// testVault returns a Vault on the shared dev server and a root client for looking behind it.
func testVault(t testing.TB) (*Vault, *vault.Client) {
	t.Helper()
	vaultServer, err := shared.Get()
	if err != nil {
		t.Fatal(err)
	}
	c, err := stack.VaultClient(vaultServer)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVault(c, "")
	if err != nil {
		t.Fatal(err)
	}
	return v, c
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func ids(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func readKeyInfo(t *testing.T, c *vault.Client, name string) map[string]any {
	t.Helper()
	s, err := c.Logical().Read("transit/keys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return nil
	}
	return s.Data
}

func TestVaultEnsureKey(t *testing.T) {
	v, c := testVault(t)
	ctx := context.Background()
	k, err := v.EnsureKey(ctx, "agreement-ensure")
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "agreement-ensure" || k.LatestVersion != 1 {
		t.Errorf("key %+v, want version 1", k)
	}
	info := readKeyInfo(t, c, "agreement-ensure")
	if info["type"] != KeyType || info["exportable"] != false || info["allow_plaintext_backup"] != false || info["deletion_allowed"] != false {
		t.Errorf("key settings %v", info)
	}
	again, err := v.EnsureKey(ctx, "agreement-ensure")
	if err != nil || again != k {
		t.Errorf("second EnsureKey: %+v, %v", again, err)
	}

	// A key left deletable is made undeletable again.
	if _, err := c.Logical().Write("transit/keys/agreement-ensure/config", map[string]any{"deletion_allowed": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.EnsureKey(ctx, "agreement-ensure"); err != nil {
		t.Fatal(err)
	}
	if info := readKeyInfo(t, c, "agreement-ensure"); info["deletion_allowed"] != false {
		t.Errorf("deletion_allowed = %v after EnsureKey", info["deletion_allowed"])
	}
}

func TestVaultEnsureKeyRefusesUnsafeKeys(t *testing.T) {
	v, c := testVault(t)
	for name, settings := range map[string]map[string]any{
		"exportable":       {"type": KeyType, "exportable": true},
		"plaintext-backup": {"type": KeyType, "allow_plaintext_backup": true},
		"other-type":       {"type": "chacha20-poly1305"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Logical().Write("transit/keys/unsafe-"+name, settings); err != nil {
				t.Fatal(err)
			}
			if _, err := v.EnsureKey(context.Background(), "unsafe-"+name); !errors.Is(err, ErrUnsafeKey) {
				t.Errorf("err = %v, want ErrUnsafeKey", err)
			}
		})
	}
}

func TestVaultEnvelope(t *testing.T) {
	v, c := testVault(t)
	ctx := context.Background()
	for _, name := range []string{"agreement-env-a", "agreement-env-b"} {
		if _, err := v.EnsureKey(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	wa, err := v.NewDataKey(ctx, "agreement-env-a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if wa.KeyVersion != 1 || !strings.HasPrefix(wa.Ciphertext, "vault:v1:") {
		t.Errorf("wrapped key %q version %d", wa.Ciphertext, wa.KeyVersion)
	}
	in := ids("9434765919", "4010232137", "9434765919")
	pseudonyms := func(name string, w WrappedKey) []string {
		t.Helper()
		l, err := v.Unwrap(ctx, name, w)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = l.Close() }()
		out, err := l.Pseudonymise(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return strs(out)
	}
	a1 := pseudonyms("agreement-env-a", wa)
	a2 := pseudonyms("agreement-env-a", wa)
	for i, p := range a1 {
		if !hex64.MatchString(p) || p != a2[i] {
			t.Fatalf("pseudonym %d: %q then %q", i, p, a2[i])
		}
	}
	if a1[0] != a1[2] || a1[0] == a1[1] {
		t.Error("same identifier must give the same pseudonym, different ones different pseudonyms")
	}

	// Vault's own decryption of the wrapped key gives the key Unwrap used.
	s, err := c.Logical().Write("transit/decrypt/agreement-env-a", map[string]any{"ciphertext": wa.Ciphertext})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(s.Data["plaintext"].(string))
	if err != nil || len(raw) != KeySize {
		t.Fatalf("vault decrypts the wrapped key to %d bytes (%v)", len(raw), err)
	}
	direct, err := NewLocal(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := direct.Pseudonymise(ctx, in[:1])
	if err != nil || string(got[0]) != a1[0] {
		t.Errorf("pseudonym from the decrypted key differs from Unwrap's (%v)", err)
	}

	wb, err := v.NewDataKey(ctx, "agreement-env-b", 0)
	if err != nil {
		t.Fatal(err)
	}
	b := pseudonyms("agreement-env-b", wb)
	if b[0] == a1[0] || b[1] == a1[1] {
		t.Error("two agreements gave the same pseudonym")
	}

	// A data key wrapped by one agreement's key cannot be unwrapped with another's.
	if _, err := v.Unwrap(ctx, "agreement-env-b", wa); err == nil {
		t.Error("unwrapping with another agreement's key succeeded")
	} else if strings.Contains(err.Error(), wa.Ciphertext) {
		t.Error("error carries the wrapped key")
	}
	// A pinned version that does not exist fails.
	if _, err := v.NewDataKey(ctx, "agreement-env-a", 7); err == nil {
		t.Error("data key for a missing key version succeeded")
	}
}

func TestVaultTransit(t *testing.T) {
	v, c := testVault(t)
	ctx := context.Background()
	for _, name := range []string{"agreement-tr-a", "agreement-tr-b"} {
		if _, err := v.EnsureKey(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	ta, err := v.Transit("agreement-tr-a", 1)
	if err != nil {
		t.Fatal(err)
	}
	in := ids("9434765919", "4010232137", "9434765919", "client-42")
	a, err := ta.Pseudonymise(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got := strs(a)
	for _, p := range got {
		if !hex64.MatchString(p) {
			t.Fatalf("%q is not 64 hex characters", p)
		}
	}
	if got[0] != got[2] || got[0] == got[1] {
		t.Error("same identifier must give the same pseudonym, different ones different pseudonyms")
	}
	// Each pseudonym is transit's own HMAC of the identifier, asked for one at a time.
	for i, id := range in {
		s, err := c.Logical().Write("transit/hmac/agreement-tr-a/sha2-256", map[string]any{
			"input": base64.StdEncoding.EncodeToString(id), "key_version": 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Data["hmac"].(string), "vault:v1:"))
		if err != nil || hex.EncodeToString(raw) != got[i] {
			t.Errorf("item %d differs from a single transit hmac call (%v)", i, err)
		}
	}

	tb, err := v.Transit("agreement-tr-b", 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tb.Pseudonymise(ctx, in[:1])
	if err != nil {
		t.Fatal(err)
	}
	if string(b[0]) == got[0] {
		t.Error("two agreements gave the same pseudonym")
	}

	// Rotating the key does not change pseudonyms made with the pinned version.
	if _, err := c.Logical().Write("transit/keys/agreement-tr-a/rotate", nil); err != nil {
		t.Fatal(err)
	}
	again, err := ta.Pseudonymise(ctx, in[:1])
	if err != nil || string(again[0]) != got[0] {
		t.Errorf("pinned version 1 changed after rotation (%v)", err)
	}
	t2, err := v.Transit("agreement-tr-a", 2)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := t2.Pseudonymise(ctx, in[:1])
	if err != nil || string(v2[0]) == got[0] {
		t.Errorf("version 2 gave version 1's pseudonym (%v)", err)
	}
	missing, err := v.Transit("agreement-tr-a", 9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Pseudonymise(ctx, in[:1]); err == nil {
		t.Error("a key version that does not exist gave pseudonyms")
	}
	if out, err := ta.Pseudonymise(ctx, nil); err != nil || len(out) != 0 {
		t.Errorf("empty batch: %v, %v", out, err)
	}
}

func TestVaultDeleteKey(t *testing.T) {
	v, c := testVault(t)
	ctx := context.Background()
	if _, err := v.EnsureKey(ctx, "agreement-shred"); err != nil {
		t.Fatal(err)
	}
	w, err := v.NewDataKey(ctx, "agreement-shred", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Delete("transit/keys/agreement-shred"); err == nil {
		t.Fatal("vault deleted a key without deletion_allowed")
	}
	if err := v.DeleteKey(ctx, "agreement-shred"); err != nil {
		t.Fatal(err)
	}
	if info := readKeyInfo(t, c, "agreement-shred"); info != nil {
		t.Fatal("key still exists after DeleteKey")
	}
	_, err = v.Unwrap(ctx, "agreement-shred", w)
	var ve *VaultError
	if !errors.As(err, &ve) || len(ve.Messages) != 0 {
		t.Errorf("unwrap after deletion: err = %v, want a VaultError without Vault's messages", err)
	}
	tr, err := v.Transit("agreement-shred", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Pseudonymise(ctx, ids("9434765919")); err == nil {
		t.Error("transit hmac after deletion succeeded")
	}
	if err := v.DeleteKey(ctx, "agreement-shred"); err != nil {
		t.Errorf("deleting a deleted key: %v", err)
	}
}

func TestVaultLeastPrivilege(t *testing.T) {
	v, c := testVault(t)
	ctx := context.Background()
	if _, err := v.EnsureKey(ctx, "agreement-priv"); err != nil {
		t.Fatal(err)
	}
	policy := `path "transit/hmac/agreement-priv" { capabilities = ["update"] }`
	if err := c.Sys().PutPolicy("hmac-only", policy); err != nil {
		t.Fatal(err)
	}
	tok, err := c.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"hmac-only"}})
	if err != nil {
		t.Fatal(err)
	}
	limited, err := c.Clone()
	if err != nil {
		t.Fatal(err)
	}
	limited.SetToken(tok.Auth.ClientToken)
	lv, err := NewVault(limited, "")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := lv.Transit("agreement-priv", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Pseudonymise(ctx, ids("9434765919")); err != nil {
		t.Errorf("hmac with an hmac-only token: %v", err)
	}
	_, err = lv.EnsureKey(ctx, "agreement-other")
	var ve *VaultError
	if !errors.As(err, &ve) || ve.StatusCode != 403 || len(ve.Messages) == 0 {
		t.Errorf("EnsureKey with an hmac-only token: err = %v, want a 403 VaultError with Vault's message", err)
	}
	if _, err := lv.NewDataKey(ctx, "agreement-priv", 1); !errors.As(err, &ve) || ve.StatusCode != 403 {
		t.Errorf("NewDataKey with an hmac-only token: err = %v, want 403", err)
	}
}

// BenchmarkTransit compares transit mode's batched requests with one Vault request per row and
// with envelope mode's local HMAC, all in the same run, over the same 4096 identifiers.
func BenchmarkTransit(b *testing.B) {
	v, c := testVault(b)
	ctx := context.Background()
	if _, err := v.EnsureKey(ctx, "agreement-bench"); err != nil {
		b.Fatal(err)
	}
	tr, err := v.Transit("agreement-bench", 1)
	if err != nil {
		b.Fatal(err)
	}
	w, err := v.NewDataKey(ctx, "agreement-bench", 1)
	if err != nil {
		b.Fatal(err)
	}
	local, err := v.Unwrap(ctx, "agreement-bench", w)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = local.Close() }()
	const n, batch = 4096, 1024
	in := make([][]byte, n)
	for i := range in {
		in[i] = fmt.Appendf(nil, "%010d", 4_000_000_000+i*7)
	}
	var tBatch, tRow, tLocal time.Duration
	for b.Loop() {
		start := time.Now()
		for i := 0; i < n; i += batch {
			if _, err := tr.Pseudonymise(ctx, in[i:i+batch]); err != nil {
				b.Fatal(err)
			}
		}
		tBatch += time.Since(start)
		start = time.Now()
		for _, id := range in {
			_, err := c.Logical().WriteWithContext(ctx, "transit/hmac/agreement-bench", map[string]any{
				"input": base64.StdEncoding.EncodeToString(id), "key_version": 1, "algorithm": "sha2-256",
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		tRow += time.Since(start)
		start = time.Now()
		for i := 0; i < n; i += batch {
			if _, err := local.Pseudonymise(ctx, in[i:i+batch]); err != nil {
				b.Fatal(err)
			}
		}
		tLocal += time.Since(start)
	}
	rate := func(d time.Duration) float64 { return float64(n*b.N) / d.Seconds() }
	b.ReportMetric(rate(tBatch), "transit-batch-ids/s")
	b.ReportMetric(rate(tRow), "transit-per-row-ids/s")
	b.ReportMetric(rate(tLocal), "envelope-ids/s")
	b.ReportMetric(tRow.Seconds()/tBatch.Seconds(), "batch/per-row-speedup")
	b.ReportMetric(tBatch.Seconds()/tLocal.Seconds(), "envelope/batch-speedup")
}
