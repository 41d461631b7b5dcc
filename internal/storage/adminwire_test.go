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

package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/minio/madmin-go/v3"

	"github.com/fivesafes/fivesafes/internal/stack"
)

// A sealed payload opens with madmin's own decryption, the code MinIO runs on it, under the right
// password only; each sealing uses a fresh salt and nonce.
func TestSealAdminPayload(t *testing.T) {
	data := []byte(`{"secretKey":"s3cr3t-s3cr3t","status":"enabled"}`)
	a, err := sealAdminPayload("admin-secret", data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealAdminPayload("admin-secret", data)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("two sealings of the same data are identical")
	}
	if !madmin.IsEncrypted(a) || a[sealSaltSize] != sealPBKDF2ID {
		t.Errorf("sealed payload does not carry the PBKDF2 algorithm ID: %x", a[:sealSaltSize+1])
	}
	if bytes.Contains(a, []byte("s3cr3t")) {
		t.Error("the sealed payload holds the secret in the clear")
	}
	got, err := madmin.DecryptData("admin-secret", bytes.NewReader(a))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("DecryptData = %q, %v; want %q", got, err, data)
	}
	if _, err := madmin.DecryptData("another-secret", bytes.NewReader(a)); err == nil {
		t.Error("the payload opened under another password")
	}
	a[len(a)-1] ^= 1
	if _, err := madmin.DecryptData("admin-secret", bytes.NewReader(a)); err == nil {
		t.Error("a tampered payload opened")
	}
}

// ensureConfined makes a workspace's bucket and policy, then its user with EnsureConfinedUser.
func ensureConfined(t *testing.T, c *Client, enabled bool) workspace {
	t.Helper()
	ctx := context.Background()
	ws := workspaceNamed("cu")
	if err := ensureBucketAndPolicy(ctx, c, ws); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, enabled); err != nil {
		t.Fatal(err)
	}
	return ws
}

func checkUserConfined(t *testing.T, c *Client, ws workspace, enabled bool) {
	t.Helper()
	ctx := context.Background()
	policies, err := c.UserPolicies(ctx, ws.creds.AccessKey)
	if err != nil || !slices.Equal(policies, []string{ws.policy}) {
		t.Errorf("policies = %v, %v; want only %s", policies, err, ws.policy)
	}
	exists, isEnabled, err := c.UserEnabled(ctx, ws.creds.AccessKey)
	if err != nil || !exists || isEnabled != enabled {
		t.Errorf("user exists %v, enabled %v, %v; want enabled %v", exists, isEnabled, err, enabled)
	}
	err = putAs(ctx, s3As(t, ws.creds), ws.bucket, "scratch/x.csv")
	if enabled && err != nil {
		t.Errorf("the user's credentials do not work: %v", err)
	}
	if !enabled && err == nil {
		t.Error("a disabled user's credentials work")
	}
}

// EnsureConfinedUser makes a new user in two writes (the user, its one policy), sealing the secret
// without Argon2id and never attaching or detaching; converges from drift; and writes nothing
// when the user is already as asked.
func TestEnsureConfinedUser(t *testing.T) {
	ctx := context.Background()
	wc := &stack.WriteCounter{}
	c := newClient(t, wc)
	ws := ensureConfined(t, c, true)
	writes := wc.Take()
	if n := len(writes); n != 5 || !slices.ContainsFunc(writes, func(w string) bool { return strings.HasSuffix(w, "/add-user") }) ||
		!slices.ContainsFunc(writes, func(w string) bool { return strings.HasSuffix(w, "/set-user-or-group-policy") }) {
		t.Errorf("a new workspace's storage took writes %v; want five: the bucket, its versioning, the policy, the user and its policy mapping", writes)
	}
	checkUserConfined(t, c, ws, true)
	wc.Take()
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true); err != nil {
		t.Fatal(err)
	}
	if w := wc.Take(); len(w) != 0 {
		t.Errorf("ensuring a user already as asked wrote %v", w)
	}

	// Drift: another policy attached, the secret changed. Both are put right.
	if _, err := c.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{"readwrite"}, User: ws.creds.AccessKey}); err != nil {
		t.Fatal(err)
	}
	if err := c.setUser(ctx, ws.creds.AccessKey, GenerateSecretKey(), madmin.AccountEnabled); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true); err != nil {
		t.Fatal(err)
	}
	checkUserConfined(t, c, ws, true)

	// Disabled, then enabled again with a new secret.
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, false); err != nil {
		t.Fatal(err)
	}
	checkUserConfined(t, c, ws, false)
	old := ws.creds
	ws.creds.SecretKey = GenerateSecretKey()
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true); err != nil {
		t.Fatal(err)
	}
	checkUserConfined(t, c, ws, true)
	if err := putAs(ctx, s3As(t, old), ws.bucket, "scratch/y.csv"); err == nil {
		t.Error("the replaced secret still works")
	}

	// A new user made disabled never works.
	checkUserConfined(t, c, ensureConfined(t, c, false), false)
}

// A user that must end disabled takes its policy while enabled under a secret no one holds: its own
// secret is refused throughout, while it is made, and while drift in its policy is put right.
func TestEnsureConfinedUserDisabledNeverOpens(t *testing.T) {
	ctx := context.Background()
	wc := &stack.WriteCounter{}
	c := newClient(t, wc)
	ws := workspaceNamed("cd")
	if err := ensureBucketAndPolicy(ctx, c, ws); err != nil {
		t.Fatal(err)
	}
	// The user's own credentials are tried without pause for as long as it is being confined.
	stop := make(chan struct{})
	var tries, opened atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		s3 := s3As(t, ws.creds)
		for {
			select {
			case <-stop:
				return
			default:
			}
			tries.Add(1)
			if putAs(ctx, s3, ws.bucket, "scratch/probe.csv") == nil {
				opened.Add(1)
			}
		}
	}()
	wc.Take()
	for range 3 {
		if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, false); err != nil {
			t.Fatal(err)
		}
		writes := wc.Take()
		want := []string{"/add-user", "/set-user-or-group-policy", "/add-user"}
		if len(writes) != len(want) {
			t.Fatalf("confining a disabled user wrote %v; want %v", writes, want)
		}
		for i, w := range writes {
			if !strings.HasSuffix(w, want[i]) {
				t.Fatalf("confining a disabled user wrote %v; want %v", writes, want)
			}
		}
		// Drift for the next round: another policy attached, which MinIO takes only for an enabled
		// user, here under a secret of the test's own.
		if err := c.setUser(ctx, ws.creds.AccessKey, GenerateSecretKey(), madmin.AccountEnabled); err != nil {
			t.Fatal(err)
		}
		if _, err := c.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{"readwrite"}, User: ws.creds.AccessKey}); err != nil {
			t.Fatal(err)
		}
		if err := c.admin.SetUserStatus(ctx, ws.creds.AccessKey, madmin.AccountDisabled); err != nil {
			t.Fatal(err)
		}
		wc.Take()
	}
	close(stop)
	<-done
	if n := opened.Load(); n != 0 {
		t.Errorf("the disabled user's own secret was let in %d times of %d", n, tries.Load())
	}
	if tries.Load() == 0 {
		t.Error("the user's credentials were never tried")
	}
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, false); err != nil {
		t.Fatal(err)
	}
	checkUserConfined(t, c, ws, false)
}

func TestEnsureConfinedUserRefusals(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	ws := ensureConfined(t, c, true)
	if err := c.EnsureConfinedUser(ctx, unique("cu-user"), GenerateSecretKey(), unique("no-such-policy"), true); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing policy: got %v, want ErrNotFound", err)
	}
	if err := c.admin.UpdateGroupMembers(ctx, madmin.GroupAddRemove{Group: unique("grp"), Members: []string{ws.creds.AccessKey}}); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true); !errors.Is(err, ErrUnconfined) {
		t.Errorf("a user in a group: got %v, want ErrUnconfined", err)
	}
	for _, bad := range [][3]string{{"a", GenerateSecretKey(), "p"}, {"user-ok", "short", "p"}, {"user-ok", GenerateSecretKey(), "bad,name"}} {
		if err := c.EnsureConfinedUser(ctx, bad[0], bad[1], bad[2], true); !errors.Is(err, ErrInvalid) {
			t.Errorf("EnsureConfinedUser(%q, _, %q): got %v, want ErrInvalid", bad[0], bad[2], err)
		}
	}
}

// noSetPolicy answers the one-request policy mapping as a store without it would.
type noSetPolicy struct{}

func (noSetPolicy) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/set-user-or-group-policy") {
		body := `{"Code":"XMinioAdminAPINotImplemented","Message":"not implemented"}`
		return &http.Response{StatusCode: http.StatusNotImplemented, Status: "501 Not Implemented", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": []string{"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Where the store does not take the one-request mapping, the user still ends with exactly its
// policy, by detaching the others and attaching it.
func TestConfinedUserWithoutSetPolicy(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, noSetPolicy{})
	ws := ensureConfined(t, c, true)
	checkUserConfined(t, c, ws, true)
	if _, err := c.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{"readwrite"}, User: ws.creds.AccessKey}); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true); err != nil {
		t.Fatal(err)
	}
	checkUserConfined(t, c, ws, true)
}
