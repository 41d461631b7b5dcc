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
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fivesafes/fivesafes/internal/stack"
)

// workspace is one workspace's storage as the Workspace controller sets it up.
type workspace struct {
	bucket, policy string
	creds          Credentials
}

// workspaceNamed returns the names and credentials of a workspace's storage, named after prefix
// and a number no other call returns.
func workspaceNamed(prefix string) workspace {
	name := unique(prefix)
	return workspace{bucket: name, policy: name + "-policy", creds: Credentials{AccessKey: name + "-user", SecretKey: GenerateSecretKey()}}
}

// ensureBucketAndPolicy runs the Ensure steps of a workspace's storage that come before its user.
func ensureBucketAndPolicy(ctx context.Context, c *Client, ws workspace) error {
	if err := c.EnsureBucket(ctx, ws.bucket, BucketOptions{Versioning: true}); err != nil {
		return err
	}
	doc, err := WorkspacePolicy(ws.bucket)
	if err != nil {
		return err
	}
	return c.EnsurePolicy(ctx, ws.policy, doc)
}

// ensureWorkspace runs every Ensure step of a workspace's storage.
func ensureWorkspace(ctx context.Context, c *Client, ws workspace) error {
	if err := ensureBucketAndPolicy(ctx, c, ws); err != nil {
		return err
	}
	return c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true)
}

func newWorkspace(t testing.TB, c *Client) workspace {
	t.Helper()
	ws := workspaceNamed("ws")
	if err := ensureWorkspace(context.Background(), c, ws); err != nil {
		t.Fatalf("ensuring workspace storage: %v", err)
	}
	return ws
}

func mustDeny(t *testing.T, what string, err error) {
	t.Helper()
	if !IsAccessDenied(err) {
		t.Errorf("%s: got %v, want AccessDenied", what, err)
	}
}

func mustAllow(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

func putAs(ctx context.Context, c *minio.Client, bucket, key string) error {
	_, err := c.PutObject(ctx, bucket, key, strings.NewReader("x"), 1, minio.PutObjectOptions{})
	return err
}

func getAs(ctx context.Context, c *minio.Client, bucket, key string) ([]byte, error) {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer func() { _ = obj.Close() }()
	return io.ReadAll(obj)
}

func listAs(ctx context.Context, c *minio.Client, bucket, prefix string) ([]string, error) {
	var keys []string
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		keys = append(keys, obj.Key)
	}
	return keys, nil
}

// A workspace user reads datasets/, writes scratch/ and outputs/, and is refused everything
// else: other prefixes, its bucket's settings, other workspaces' buckets, the egress bucket and
// every admin action, including changing its own secret and minting service accounts.
func TestWorkspaceIsolation(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	a, b := newWorkspace(t, c), newWorkspace(t, c)
	egress := unique("egress")
	if err := c.EnsureBucket(ctx, egress, BucketOptions{Versioning: true}); err != nil {
		t.Fatal(err)
	}
	root := c.S3()
	put(t, root, a.bucket, "datasets/hes/part-0.csv", "id,count\n1,10\n")
	put(t, root, a.bucket, "staging/req-1/table.csv", "staged")
	put(t, root, b.bucket, "datasets/other.csv", "theirs")
	put(t, root, b.bucket, "outputs/theirs.csv", "theirs")
	put(t, root, egress, "releases/x/req/table.csv", "released")

	u := s3As(t, a.creds)

	// Own bucket: list, read datasets, read-write scratch and outputs.
	keys, err := listAs(ctx, u, a.bucket, "")
	mustAllow(t, "listing own bucket", err)
	if !slices.Contains(keys, "datasets/hes/part-0.csv") {
		t.Errorf("listing own bucket: got %v", keys)
	}
	body, err := getAs(ctx, u, a.bucket, "datasets/hes/part-0.csv")
	mustAllow(t, "reading datasets/", err)
	if string(body) != "id,count\n1,10\n" {
		t.Errorf("reading datasets/: got %q", body)
	}
	for _, key := range []string{"scratch/notes.txt", "outputs/table.csv", "scratch/deep/er/x.parquet"} {
		mustAllow(t, "writing "+key, putAs(ctx, u, a.bucket, key))
		_, err := getAs(ctx, u, a.bucket, key)
		mustAllow(t, "reading "+key, err)
	}
	mustAllow(t, "deleting scratch/notes.txt", u.RemoveObject(ctx, a.bucket, "scratch/notes.txt", minio.RemoveObjectOptions{}))
	big := bytes.Repeat([]byte("y"), 6<<20) // Over the part size, so uploaded in parts.
	_, err = u.PutObject(ctx, a.bucket, "outputs/big.bin", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20})
	mustAllow(t, "multipart upload to outputs/", err)

	// datasets/ is read-only.
	mustDeny(t, "writing datasets/", putAs(ctx, u, a.bucket, "datasets/hes/part-1.csv"))
	mustDeny(t, "overwriting datasets/", putAs(ctx, u, a.bucket, "datasets/hes/part-0.csv"))
	mustDeny(t, "deleting datasets/", u.RemoveObject(ctx, a.bucket, "datasets/hes/part-0.csv", minio.RemoveObjectOptions{}))
	_, err = u.CopyObject(ctx, minio.CopyDestOptions{Bucket: a.bucket, Object: "datasets/copy.csv"},
		minio.CopySrcOptions{Bucket: a.bucket, Object: "outputs/table.csv"})
	mustDeny(t, "copying into datasets/", err)

	// Nothing outside the three prefixes, nothing on the bucket's settings.
	mustDeny(t, "writing the bucket root", putAs(ctx, u, a.bucket, "top.txt"))
	mustDeny(t, "writing staging/", putAs(ctx, u, a.bucket, "staging/req-1/table.csv"))
	_, err = getAs(ctx, u, a.bucket, "staging/req-1/table.csv")
	mustDeny(t, "reading staging/", err)
	mustDeny(t, "enabling versioning", u.EnableVersioning(ctx, a.bucket))
	mustDeny(t, "setting a bucket policy", u.SetBucketPolicy(ctx, a.bucket, `{"Version":"2012-10-17","Statement":[]}`))
	mustDeny(t, "removing own bucket", u.RemoveBucket(ctx, a.bucket))
	mustDeny(t, "making a bucket", u.MakeBucket(ctx, unique("ws"), minio.MakeBucketOptions{}))

	// Another workspace's bucket and the egress bucket.
	for _, other := range []struct{ bucket, key string }{
		{b.bucket, "datasets/other.csv"}, {b.bucket, "outputs/theirs.csv"}, {egress, "releases/x/req/table.csv"},
	} {
		_, err := listAs(ctx, u, other.bucket, "")
		mustDeny(t, "listing "+other.bucket, err)
		_, err = getAs(ctx, u, other.bucket, other.key)
		mustDeny(t, "reading "+other.bucket+"/"+other.key, err)
		mustDeny(t, "writing "+other.bucket, putAs(ctx, u, other.bucket, "outputs/x.csv"))
		_, err = u.CopyObject(ctx, minio.CopyDestOptions{Bucket: a.bucket, Object: "outputs/stolen.csv"},
			minio.CopySrcOptions{Bucket: other.bucket, Object: other.key})
		mustDeny(t, "copying out of "+other.bucket, err)
	}
	buckets, err := u.ListBuckets(ctx)
	if err == nil {
		for _, bk := range buckets {
			if bk.Name != a.bucket {
				t.Errorf("listing buckets shows %s", bk.Name)
			}
		}
	} else {
		mustDeny(t, "listing buckets", err)
	}

	// Admin actions on itself.
	adm, err := madmin.NewWithOptions(minioServer(t).Endpoint, &madmin.Options{Creds: credentials.NewStaticV4(a.creds.AccessKey, a.creds.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = adm.AddServiceAccount(ctx, madmin.AddServiceAccountReq{})
	mustDeny(t, "creating a service account for itself", err)
	mustDeny(t, "changing its own secret", adm.SetUser(ctx, a.creds.AccessKey, GenerateSecretKey(), madmin.AccountEnabled))
	_, err = adm.ListUsers(ctx)
	mustDeny(t, "listing users", err)
	mustDeny(t, "writing a policy", adm.AddCannedPolicy(ctx, "escalate", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}`)))
	if _, err := getAs(ctx, u, a.bucket, "datasets/hes/part-0.csv"); err != nil {
		t.Errorf("the user's own secret stopped working: %v", err)
	}
}

// A disabled user, and temporary credentials it obtained before, are refused; converging it as
// disabled does not enable it again; enabling restores access.
func TestDisabledUserIsRefused(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	ws := newWorkspace(t, c)
	put(t, c.S3(), ws.bucket, "datasets/a.csv", "a")
	u := s3As(t, ws.creds)
	sts, err := credentials.NewSTSAssumeRole("http://"+minioServer(t).Endpoint, credentials.STSAssumeRoleOptions{
		AccessKey: ws.creds.AccessKey, SecretKey: ws.creds.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	temp, err := minio.New(minioServer(t).Endpoint, &minio.Options{Creds: sts})
	if err != nil {
		t.Fatal(err)
	}
	for name, cl := range map[string]*minio.Client{"user": u, "temporary credentials": temp} {
		if _, err := getAs(ctx, cl, ws.bucket, "datasets/a.csv"); err != nil {
			t.Fatalf("%s before disabling: %v", name, err)
		}
	}

	if err := c.SetUserEnabled(ctx, ws.creds.AccessKey, false); err != nil {
		t.Fatal(err)
	}
	for name, cl := range map[string]*minio.Client{"user": u, "temporary credentials": temp} {
		if _, err := getAs(ctx, cl, ws.bucket, "datasets/a.csv"); err == nil {
			t.Errorf("%s read the bucket after the user was disabled", name)
		}
	}
	sts2, err := credentials.NewSTSAssumeRole("http://"+minioServer(t).Endpoint, credentials.STSAssumeRoleOptions{
		AccessKey: ws.creds.AccessKey, SecretKey: ws.creds.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts2.GetWithContext(&credentials.CredContext{Client: http.DefaultClient}); err == nil {
		t.Error("a disabled user obtained temporary credentials")
	}

	// Converging the user of a suspended workspace must not enable it.
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, false); err != nil {
		t.Fatal(err)
	}
	exists, enabled, err := c.UserEnabled(ctx, ws.creds.AccessKey)
	if err != nil || !exists || enabled {
		t.Fatalf("after Ensure: exists %v enabled %v err %v; want a disabled user", exists, enabled, err)
	}
	if err := c.SetUserEnabled(ctx, ws.creds.AccessKey, true); err != nil {
		t.Fatal(err)
	}
	if _, err := getAs(ctx, u, ws.bucket, "datasets/a.csv"); err != nil {
		t.Fatalf("user after enabling: %v", err)
	}

	// A user that does not exist has no access to cut, but cannot be enabled.
	if err := c.SetUserEnabled(ctx, "no-such-user", false); err != nil {
		t.Errorf("disabling a missing user: %v", err)
	}
	if err := c.SetUserEnabled(ctx, "no-such-user", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("enabling a missing user: got %v, want ErrNotFound", err)
	}
}

// Converging storage that is already as asked writes nothing; each Ensure also converges from
// the partial states a crash can leave.
func TestEnsureIsIdempotent(t *testing.T) {
	ctx := context.Background()
	wc := &stack.WriteCounter{}
	c := newClient(t, wc)
	ws := workspaceNamed("ws")
	audit := unique("audit")

	// A crash after creating the bucket left it unversioned; after creating the user left it
	// with another secret and no policy; an operator attached a wide policy.
	if err := c.S3().MakeBucket(ctx, ws.bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.setUser(ctx, ws.creds.AccessKey, GenerateSecretKey(), madmin.AccountEnabled); err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{"readwrite"}, User: ws.creds.AccessKey}); err != nil {
		t.Fatal(err)
	}

	for round := range 3 {
		wc.Take()
		if err := ensureWorkspace(ctx, c, ws); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := c.EnsureBucket(ctx, audit, BucketOptions{ObjectLock: true}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		writes := wc.Take()
		if round == 0 && len(writes) == 0 {
			t.Fatal("the first round wrote nothing")
		}
		if round > 0 && len(writes) > 0 {
			t.Fatalf("round %d wrote %d times: %v", round, len(writes), writes)
		}
	}

	v, err := c.S3().GetBucketVersioning(ctx, ws.bucket)
	if err != nil || !v.Enabled() {
		t.Errorf("bucket versioning = %+v, %v; want enabled", v, err)
	}
	v, err = c.S3().GetBucketVersioning(ctx, audit)
	if err != nil || !v.Enabled() {
		t.Errorf("object-locked bucket versioning = %+v, %v; want enabled", v, err)
	}
	policies, err := c.UserPolicies(ctx, ws.creds.AccessKey)
	if err != nil || !slices.Equal(policies, []string{ws.policy}) {
		t.Errorf("user policies = %v, %v; want only %s", policies, err, ws.policy)
	}
	u := s3As(t, ws.creds)
	if err := putAs(ctx, u, ws.bucket, "outputs/x.csv"); err != nil {
		t.Errorf("the ensured secret does not work: %v", err)
	}
	mustDeny(t, "writing datasets/ after the wide policy was removed", putAs(ctx, u, ws.bucket, "datasets/x.csv"))

	// Object lock cannot be added to an existing bucket: refused, not ignored.
	if err := c.EnsureBucket(ctx, ws.bucket, BucketOptions{ObjectLock: true}); !errors.Is(err, ErrBucketMismatch) {
		t.Errorf("object lock on an existing unlocked bucket: got %v, want ErrBucketMismatch", err)
	}
}

// A new secret replaces the old one, which stops working.
func TestConfinedUserResetsSecret(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	ws := newWorkspace(t, c)
	old := ws.creds
	ws.creds.SecretKey = GenerateSecretKey()
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true); err != nil {
		t.Fatal(err)
	}
	if _, err := listAs(ctx, s3As(t, ws.creds), ws.bucket, ""); err != nil {
		t.Errorf("new secret: %v", err)
	}
	if _, err := listAs(ctx, s3As(t, old), ws.bucket, ""); err == nil {
		t.Error("the old secret still works")
	}
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, "short", ws.policy, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("short secret: got %v, want ErrInvalid", err)
	}
}

// A user in a group is refused, since the group's policies would widen it; a missing policy is
// not found.
func TestConfinedUserRefusesGroupMembers(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	ws := newWorkspace(t, c)
	group := unique("group")
	if err := c.admin.UpdateGroupMembers(ctx, madmin.GroupAddRemove{Group: group, Members: []string{ws.creds.AccessKey}}); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureConfinedUser(ctx, ws.creds.AccessKey, ws.creds.SecretKey, ws.policy, true); !errors.Is(err, ErrUnconfined) {
		t.Fatalf("got %v, want ErrUnconfined", err)
	}
	other := newWorkspace(t, c)
	if err := c.EnsureConfinedUser(ctx, other.creds.AccessKey, other.creds.SecretKey, "no-such-policy", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing policy: got %v, want ErrNotFound", err)
	}
}

// Removing what exists works even when a policy is still attached; removing what is gone is
// success.
func TestRemoveUserAndPolicy(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	ws := newWorkspace(t, c)
	// The policy goes first here, as a teardown interrupted in another order would leave it.
	for range 2 {
		if err := c.RemovePolicy(ctx, ws.policy); err != nil {
			t.Fatalf("removing policy: %v", err)
		}
		if err := c.RemoveUser(ctx, ws.creds.AccessKey); err != nil {
			t.Fatalf("removing user: %v", err)
		}
	}
	if _, err := c.admin.InfoCannedPolicyV2(ctx, ws.policy); adminCode(err) != codeNoSuchPolicy {
		t.Errorf("policy after removal: %v", err)
	}
	exists, _, err := c.UserEnabled(ctx, ws.creds.AccessKey)
	if err != nil || exists {
		t.Errorf("user after removal: exists %v, %v", exists, err)
	}
	if _, err := listAs(ctx, s3As(t, ws.creds), ws.bucket, ""); err == nil {
		t.Error("a removed user can still list its bucket")
	}
	if _, err := c.UserPolicies(ctx, ws.creds.AccessKey); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("policies of a removed user: got %v, want fs.ErrNotExist", err)
	}
}

// Ensure calls refuse malformed names and documents before any request.
func TestRefusesBadArguments(t *testing.T) {
	ctx := context.Background()
	wc := &stack.WriteCounter{}
	c := newClient(t, wc)
	for name, err := range map[string]error{
		"bucket":        c.EnsureBucket(ctx, "Bad_Bucket", BucketOptions{}),
		"delete bucket": c.DeleteBucket(ctx, "a"),
		"policy name":   c.EnsurePolicy(ctx, "a,b", []byte(`{"Version":"2012-10-17","Statement":[]}`)),
		"policy doc":    c.EnsurePolicy(ctx, "p", []byte(`{"Statement":`)),
		"user":          c.EnsureConfinedUser(ctx, "a=b", GenerateSecretKey(), "p", true),
		"short user":    c.EnsureConfinedUser(ctx, "ab", GenerateSecretKey(), "p", true),
		"user policy":   c.EnsureConfinedUser(ctx, "user-ok", GenerateSecretKey(), "p q", true),
		"remove user":   c.RemoveUser(ctx, ""),
		"remove policy": c.RemovePolicy(ctx, "p q"),
		"enable":        c.SetUserEnabled(ctx, "x", true),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if w := wc.Take(); len(w) > 0 {
		t.Errorf("refused calls wrote: %v", w)
	}
	if _, err := New(Options{Endpoint: "http://x:9000", AccessKey: "a", SecretKey: "b"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("endpoint with a scheme: got %v, want ErrInvalid", err)
	}
	if _, err := New(Options{Endpoint: "x:9000"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no credentials: got %v, want ErrInvalid", err)
	}
}

// The policy's explicit denials hold even when a wider policy is attached beside it, so a
// mistake elsewhere cannot open another bucket, datasets/ writes or administration.
func TestWorkspaceDenialsOverrideWiderPolicies(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	a, b := newWorkspace(t, c), newWorkspace(t, c)
	put(t, c.S3(), a.bucket, "datasets/a.csv", "a")
	put(t, c.S3(), b.bucket, "datasets/b.csv", "b")
	if _, err := c.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{"readwrite"}, User: a.creds.AccessKey}); err != nil {
		t.Fatal(err)
	}
	u := s3As(t, a.creds)
	_, err := getAs(ctx, u, b.bucket, "datasets/b.csv")
	mustDeny(t, "reading another bucket with readwrite attached", err)
	mustDeny(t, "writing another bucket with readwrite attached", putAs(ctx, u, b.bucket, "outputs/x"))
	mustDeny(t, "writing datasets/ with readwrite attached", putAs(ctx, u, a.bucket, "datasets/a.csv"))
	mustDeny(t, "deleting datasets/ with readwrite attached", u.RemoveObject(ctx, a.bucket, "datasets/a.csv", minio.RemoveObjectOptions{}))
	mustDeny(t, "making a bucket with readwrite attached", u.MakeBucket(ctx, unique("ws"), minio.MakeBucketOptions{}))
	mustAllow(t, "writing the bucket root with readwrite attached", putAs(ctx, u, a.bucket, "top.txt"))

	// EnsureConfinedUser converges back to the one policy.
	if err := c.EnsureConfinedUser(ctx, a.creds.AccessKey, a.creds.SecretKey, a.policy, true); err != nil {
		t.Fatal(err)
	}
	mustDeny(t, "writing the bucket root after EnsureConfinedUser", putAs(ctx, u, a.bucket, "top.txt"))
}
