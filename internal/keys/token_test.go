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
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/fivesafes/fivesafes/internal/pseudonym"
	"github.com/fivesafes/fivesafes/internal/stack"
)

// agreement is one agreement's key, wrapped data key, policy and token.
type agreement struct {
	key     string
	wrapped pseudonym.WrappedKey
	policy  string
	token   Token
	client  *vault.Client // authenticated with token
}

func newAgreement(t *testing.T, root *vault.Client) agreement {
	t.Helper()
	ctx := t.Context()
	pv, err := pseudonym.NewVault(root, "transit")
	if err != nil {
		t.Fatal(err)
	}
	a := agreement{key: unique("nic")}
	if _, err := pv.EnsureKey(ctx, a.key); err != nil {
		t.Fatal(err)
	}
	if a.wrapped, err = pv.NewDataKey(ctx, a.key, 1); err != nil {
		t.Fatal(err)
	}
	a.policy = "fivesafes-ws-" + a.key
	hcl, err := WorkspacePolicy("transit", a.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsurePolicy(ctx, root, a.policy, hcl); err != nil {
		t.Fatal(err)
	}
	if a.token, err = IssueToken(ctx, root, a.policy, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	a.client = clientWith(t, root, a.token.ID)
	return a
}

// pseudonymOf computes the pseudonym of id with the agreement's key through the given client.
func pseudonymOf(ctx context.Context, c *vault.Client, key, id string) (string, error) {
	pv, err := pseudonym.NewVault(c, "transit")
	if err != nil {
		return "", err
	}
	tr, err := pv.Transit(key, 1)
	if err != nil {
		return "", err
	}
	out, err := tr.Pseudonymise(ctx, [][]byte{[]byte(id)})
	if err != nil {
		return "", err
	}
	return string(out[0]), nil
}

// status returns the HTTP status of a Vault error from the pseudonym or vault packages, or 0.
func status(err error) int {
	var pe *pseudonym.VaultError
	if errors.As(err, &pe) {
		return pe.StatusCode
	}
	var re *vault.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func mustForbid(t *testing.T, what string, err error) {
	t.Helper()
	if status(err) != http.StatusForbidden {
		t.Errorf("%s: got %v, want HTTP 403", what, err)
	}
}

// A workspace token computes pseudonyms with and unwraps the data key of its own agreement's key
// only; it is refused on the other agreement's key, on managing its own key and on Vault's
// system and auth paths; revoking its accessor stops it at once.
func TestWorkspaceTokenConfinement(t *testing.T) {
	ctx := t.Context()
	root := rootClient(t, nil)
	a, b := newAgreement(t, root), newAgreement(t, root)
	const nhs = "9434765919"

	// Own key: HMAC (matching the root's) and unwrap.
	got, err := pseudonymOf(ctx, a.client, a.key, nhs)
	if err != nil {
		t.Fatalf("HMAC with own key: %v", err)
	}
	want, err := pseudonymOf(ctx, root, a.key, nhs)
	if err != nil || got != want || len(got) != 64 {
		t.Fatalf("HMAC with own key = %q, root's = %q, %v", got, want, err)
	}
	pa, err := pseudonym.NewVault(a.client, "transit")
	if err != nil {
		t.Fatal(err)
	}
	local, err := pa.Unwrap(ctx, a.key, a.wrapped)
	if err != nil {
		t.Fatalf("unwrap own data key: %v", err)
	}
	local.Close()
	// The algorithm may also be named in the path.
	if _, err := a.client.Logical().WriteWithContext(ctx, "transit/hmac/"+a.key+"/sha2-256", map[string]any{"input": "OTQzNDc2NTkxOQ=="}); err != nil {
		t.Errorf("HMAC with the algorithm in the path: %v", err)
	}

	// The other agreement's key.
	_, err = pseudonymOf(ctx, a.client, b.key, nhs)
	mustForbid(t, "HMAC with another agreement's key", err)
	_, err = pa.Unwrap(ctx, b.key, b.wrapped)
	mustForbid(t, "unwrapping another agreement's data key", err)
	_, err = a.client.Logical().WriteWithContext(ctx, "transit/hmac/"+b.key+"/sha2-256", map[string]any{"input": "eA=="})
	mustForbid(t, "HMAC with another key, algorithm in the path", err)

	// Managing its own key, or anything else on the mount.
	lw := a.client.Logical()
	for _, tc := range []struct {
		what string
		call func() error
	}{
		{"reading own key", func() error { _, err := lw.ReadWithContext(ctx, "transit/keys/"+a.key); return err }},
		{"allowing deletion of own key", func() error {
			_, err := lw.WriteWithContext(ctx, "transit/keys/"+a.key+"/config", map[string]any{"deletion_allowed": true})
			return err
		}},
		{"deleting own key", func() error { _, err := lw.DeleteWithContext(ctx, "transit/keys/"+a.key); return err }},
		{"rotating own key", func() error { _, err := lw.WriteWithContext(ctx, "transit/keys/"+a.key+"/rotate", nil); return err }},
		{"exporting own key", func() error { _, err := lw.ReadWithContext(ctx, "transit/export/hmac-key/"+a.key); return err }},
		{"backing up own key", func() error { _, err := lw.ReadWithContext(ctx, "transit/backup/"+a.key); return err }},
		{"plaintext data key", func() error {
			_, err := lw.WriteWithContext(ctx, "transit/datakey/plaintext/"+a.key, nil)
			return err
		}},
		{"new wrapped data key", func() error {
			_, err := lw.WriteWithContext(ctx, "transit/datakey/wrapped/"+a.key, nil)
			return err
		}},
		{"encrypting", func() error {
			_, err := lw.WriteWithContext(ctx, "transit/encrypt/"+a.key, map[string]any{"plaintext": "eA=="})
			return err
		}},
		{"creating a key", func() error { _, err := lw.WriteWithContext(ctx, "transit/keys/"+unique("nic"), nil); return err }},
		{"listing keys", func() error { _, err := lw.ListWithContext(ctx, "transit/keys"); return err }},
		{"HMAC under a similar key name", func() error {
			_, err := lw.WriteWithContext(ctx, "transit/hmac/"+a.key+"0", map[string]any{"input": "eA=="})
			return err
		}},
		{"reading sys/mounts", func() error { _, err := lw.ReadWithContext(ctx, "sys/mounts"); return err }},
		{"listing policies", func() error { _, err := lw.ListWithContext(ctx, "sys/policies/acl"); return err }},
		{"widening its own policy", func() error {
			return a.client.Sys().PutPolicyWithContext(ctx, a.policy, `path "*" { capabilities = ["sudo","read","update","create","delete","list"] }`)
		}},
		{"disabling the transit mount", func() error { return a.client.Sys().UnmountWithContext(ctx, "transit") }},
		{"capabilities of itself", func() error {
			_, err := lw.WriteWithContext(ctx, "sys/capabilities-self", map[string]any{"paths": []string{"transit/keys"}})
			return err
		}},
		{"creating a token", func() error {
			_, err := a.client.Auth().Token().CreateWithContext(ctx, &vault.TokenCreateRequest{})
			return err
		}},
		{"looking itself up", func() error { _, err := a.client.Auth().Token().LookupSelfWithContext(ctx); return err }},
		{"renewing itself", func() error { _, err := a.client.Auth().Token().RenewSelfWithContext(ctx, 3600); return err }},
		{"writing its cubbyhole", func() error {
			_, err := lw.WriteWithContext(ctx, "cubbyhole/x", map[string]any{"v": "x"})
			return err
		}},
	} {
		mustForbid(t, tc.what, tc.call())
	}

	// The token is what was asked for.
	info, err := LookupToken(ctx, root, a.token.Accessor)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Policies, []string{a.policy}) || info.Renewable || !info.Orphan {
		t.Errorf("token = %+v, want only %s, not renewable, orphan", info, a.policy)
	}
	if left := time.Until(info.Expires); left <= 9*time.Minute || left > 10*time.Minute+5*time.Second {
		t.Errorf("token expires in %s, want about 10m", left)
	}
	if d := info.Expires.Sub(a.token.Expires); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("Token.Expires %s differs from Vault's %s", a.token.Expires, info.Expires)
	}
	if !strings.Contains(info.DisplayName, DisplayPrefix+a.policy) {
		t.Errorf("display name %q", info.DisplayName)
	}

	// Revocation stops the token at once; revoking again is success.
	if err := RevokeAccessor(ctx, root, a.token.Accessor); err != nil {
		t.Fatal(err)
	}
	_, err = pseudonymOf(ctx, a.client, a.key, nhs)
	mustForbid(t, "HMAC with a revoked token", err)
	if ok, err := TokenValid(ctx, root, a.token.Accessor); err != nil || ok {
		t.Errorf("revoked token valid = %v, %v", ok, err)
	}
	if _, err := LookupToken(ctx, root, a.token.Accessor); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("looking up a revoked token: got %v, want ErrTokenNotFound", err)
	}
	if err := RevokeAccessor(ctx, root, a.token.Accessor); err != nil {
		t.Errorf("revoking again: %v", err)
	}
	if err := RevokeAccessor(ctx, root, "neverissued0123456789abc"); err != nil {
		t.Errorf("revoking an unknown accessor: %v", err)
	}

	// The other agreement's token is untouched.
	if ok, err := TokenValid(ctx, root, b.token.Accessor); err != nil || !ok {
		t.Errorf("other token valid = %v, %v", ok, err)
	}
	if _, err := pseudonymOf(ctx, b.client, b.key, nhs); err != nil {
		t.Errorf("other token after revoking the first: %v", err)
	}
}

// Deleting the policy strips every token issued for it, recorded or not; deleting it again is
// success.
func TestDeletePolicyDisarmsTokens(t *testing.T) {
	ctx := t.Context()
	root := rootClient(t, nil)
	a := newAgreement(t, root)
	// A token issued before a crash, whose accessor was never recorded.
	lost, err := IssueToken(ctx, root, a.policy, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := DeletePolicy(ctx, root, a.policy); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range []Token{a.token, lost} {
		_, err := pseudonymOf(ctx, clientWith(t, root, tok.ID), a.key, "9434765919")
		mustForbid(t, "HMAC after the policy was deleted", err)
	}
}

// EnsurePolicy writes only when the text differs.
func TestEnsurePolicyIsIdempotent(t *testing.T) {
	ctx := t.Context()
	wc := &stack.WriteCounter{}
	root := rootClient(t, wc)
	name := unique("fivesafes-ws")
	first, err := WorkspacePolicy("transit", "k1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := WorkspacePolicy("transit", "k2")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		hcl    string
		writes int
	}{{first, 1}, {first, 0}, {first, 0}, {second, 1}, {second, 0}} {
		wc.Take()
		if err := EnsurePolicy(ctx, root, name, tc.hcl); err != nil {
			t.Fatal(err)
		}
		if w := wc.Take(); len(w) != tc.writes {
			t.Errorf("call %d wrote %v, want %d writes", i, w, tc.writes)
		}
	}
	got, err := root.Sys().GetPolicyWithContext(ctx, name)
	if err != nil || got != second {
		t.Fatalf("stored policy %q, %v", got, err)
	}
	if err := EnsurePolicy(ctx, root, name, `path "x" {`); err == nil {
		t.Error("malformed HCL was accepted")
	} else if !bytes.Contains([]byte(err.Error()), []byte("HTTP 400")) {
		t.Errorf("malformed HCL: %v", err)
	}
}

// Tokens are refused for reserved policies and nonsensical TTLs before any request, and the
// issuer's failures name no token.
func TestIssueTokenRefuses(t *testing.T) {
	ctx := t.Context()
	wc := &stack.WriteCounter{}
	root := rootClient(t, wc)
	for _, tc := range []struct {
		policy string
		ttl    time.Duration
	}{
		{"root", time.Hour}, {"default", time.Hour}, {"fivesafes-ws-x", 0}, {"fivesafes-ws-x", -time.Second},
		{"fivesafes-ws-x", 1 << 62},
	} {
		if _, err := IssueToken(ctx, root, tc.policy, tc.ttl); !errors.Is(err, ErrInvalid) {
			t.Errorf("IssueToken(%q, %s): got %v, want ErrInvalid", tc.policy, tc.ttl, err)
		}
	}
	if w := wc.Take(); len(w) > 0 {
		t.Errorf("refused calls wrote %v", w)
	}

	// A client without rights is refused by Vault; the error carries no token.
	a := newAgreement(t, root)
	_, err := IssueToken(ctx, a.client, a.policy, time.Hour)
	if !IsPermissionDenied(err) {
		t.Fatalf("issuing with a workspace token: got %v, want permission denied", err)
	}
	if strings.Contains(err.Error(), a.token.ID) {
		t.Fatal("error carries the token")
	}
	// A sub-second TTL is rounded up to a second, not refused.
	tok, err := IssueToken(ctx, root, a.policy, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(tok.Expires); d > time.Second {
		t.Errorf("a 1ms token expires in %s", d)
	}
}
