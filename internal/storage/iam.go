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
	"crypto/rand"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
)

// Admin API error codes this package acts on.
const (
	codeNoSuchUser     = "XMinioAdminNoSuchUser"
	codeNoSuchPolicy   = "XMinioAdminNoSuchPolicy"
	codeAlreadyApplied = "XMinioAdminPolicyChangeAlreadyApplied"
)

var (
	// userPattern is what a user's access key may be: MinIO needs at least 3 characters and
	// reserves '=' and ','.
	userPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{2,127}$`)
	// policyPattern is what a policy name may be: MinIO lists policies separated by commas.
	policyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// Lengths of generated credentials.
const (
	// AccessKeyLength is the length of a generated access key.
	AccessKeyLength = 20
	// SecretKeyLength is the length of a generated secret key: 40 characters of 62, about 238
	// bits.
	SecretKeyLength = 40
)

// minSecretKeyLength is the shortest secret key MinIO accepts.
const minSecretKeyLength = 8

func checkUser(user string) error {
	if !userPattern.MatchString(user) {
		return fmt.Errorf("%w: user name must be 3-128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", ErrInvalid)
	}
	return nil
}

func checkPolicy(name string) error {
	if !policyPattern.MatchString(name) {
		return fmt.Errorf("%w: policy name must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid)
	}
	return nil
}

// Credentials are a user's access key and secret key. Printing them with the fmt package shows
// the access key only.
type Credentials struct {
	// AccessKey names the user.
	AccessKey string
	// SecretKey is the user's secret.
	SecretKey string
}

// String returns the access key with the secret key redacted.
func (c Credentials) String() string {
	return "Credentials{AccessKey: " + c.AccessKey + ", SecretKey: <redacted>}"
}

// GoString returns the same as String, so that %#v does not print the secret either.
func (c Credentials) GoString() string { return c.String() }

const (
	upperDigits  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	alphanumeric = upperDigits + "abcdefghijklmnopqrstuvwxyz"
)

// randomString returns n characters drawn uniformly from alphabet (at most 256 bytes) with
// crypto/rand.
func randomString(n int, alphabet string) string {
	// Rejection sampling keeps the draw uniform: bytes at or above the largest multiple of the
	// alphabet's size are discarded.
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails; it crashes the program instead.
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// GenerateSecretKey returns a new random secret key of SecretKeyLength letters and digits.
func GenerateSecretKey() string { return randomString(SecretKeyLength, alphanumeric) }

// GenerateCredentials returns a random access key (AccessKeyLength upper-case letters and
// digits) and a secret key from GenerateSecretKey. A caller that names users after their
// workspace uses GenerateSecretKey alone.
func GenerateCredentials() Credentials {
	return Credentials{AccessKey: randomString(AccessKeyLength, upperDigits), SecretKey: GenerateSecretKey()}
}

// EnsurePolicy creates or updates the policy name with the JSON document doc. It writes nothing
// when the stored policy already means the same.
func (c *Client) EnsurePolicy(ctx context.Context, name string, doc []byte) error {
	if err := checkPolicy(name); err != nil {
		return err
	}
	want, err := canonicalPolicy(doc)
	if err != nil {
		return err
	}
	info, err := c.admin.InfoCannedPolicyV2(ctx, name)
	switch {
	case adminCode(err) == codeNoSuchPolicy:
	case err != nil:
		return fmt.Errorf("reading policy %s: %w", name, err)
	default:
		if got, err := canonicalPolicy(info.Policy); err == nil && bytes.Equal(got, want) {
			return nil
		}
	}
	if err := c.admin.AddCannedPolicy(ctx, name, doc); err != nil {
		return fmt.Errorf("writing policy %s: %w", name, err)
	}
	return nil
}

// RemovePolicy deletes the policy name, first detaching it from every user and group holding it
// (MinIO refuses to delete a policy in use). A policy that does not exist is success.
func (c *Client) RemovePolicy(ctx context.Context, name string) error {
	if err := checkPolicy(name); err != nil {
		return err
	}
	ents, err := c.admin.GetPolicyEntities(ctx, madmin.PolicyEntitiesQuery{Policy: []string{name}})
	if err != nil {
		return fmt.Errorf("listing holders of policy %s: %w", name, err)
	}
	for _, pe := range ents.PolicyMappings {
		if pe.Policy != name {
			continue
		}
		for _, u := range pe.Users {
			if err := c.detach(ctx, madmin.PolicyAssociationReq{Policies: []string{name}, User: u}); err != nil {
				return fmt.Errorf("detaching policy %s from user %s: %w", name, u, err)
			}
		}
		for _, g := range pe.Groups {
			if err := c.detach(ctx, madmin.PolicyAssociationReq{Policies: []string{name}, Group: g}); err != nil {
				return fmt.Errorf("detaching policy %s from group %s: %w", name, g, err)
			}
		}
	}
	err = c.admin.RemoveCannedPolicy(ctx, name)
	if err != nil && adminCode(err) != codeNoSuchPolicy {
		return fmt.Errorf("removing policy %s: %w", name, err)
	}
	return nil
}

// detach detaches policies, treating policies or entities already gone as success.
func (c *Client) detach(ctx context.Context, r madmin.PolicyAssociationReq) error {
	_, err := c.admin.DetachPolicy(ctx, r)
	switch adminCode(err) {
	case codeAlreadyApplied, codeNoSuchUser, codeNoSuchPolicy:
		return nil
	}
	return err
}

// userInfo returns the user's description, or ErrNotFound.
func (c *Client) userInfo(ctx context.Context, user string) (madmin.UserInfo, error) {
	info, err := c.admin.GetUserInfo(ctx, user)
	if adminCode(err) == codeNoSuchUser {
		return info, fmt.Errorf("user %s: %w", user, ErrNotFound)
	}
	if err != nil {
		return info, fmt.Errorf("reading user %s: %w", user, err)
	}
	return info, nil
}

// EnsureConfinedUser makes the user accessKey exist with secretKey, hold exactly the one policy
// and be enabled or disabled as asked, with the fewest requests: one read, then only the writes
// that change something. An enabled user's credentials are tried and its secret is written only
// when they fail; a disabled user's secret cannot be tried, so it is written again. MinIO maps
// policies only to enabled users, so a user that must end disabled and whose policy must change is
// enabled for that moment under a secret drawn for it and never kept, and then written disabled
// with secretKey: secretKey never opens the policy. A user in any group is refused with
// ErrUnconfined. A policy that does not exist is ErrNotFound.
func (c *Client) EnsureConfinedUser(ctx context.Context, accessKey, secretKey, policy string, enabled bool) error {
	if err := checkUser(accessKey); err != nil {
		return err
	}
	if err := checkPolicy(policy); err != nil {
		return err
	}
	if len(secretKey) < minSecretKeyLength {
		return fmt.Errorf("%w: secret key of user %s is shorter than %d characters", ErrInvalid, accessKey, minSecretKeyLength)
	}
	want := madmin.AccountDisabled
	if enabled {
		want = madmin.AccountEnabled
	}
	info, err := c.userInfo(ctx, accessKey)
	exists := err == nil
	if err != nil && !isNotFound(err) {
		return err
	}
	if exists && len(info.MemberOf) > 0 {
		return fmt.Errorf("%w: user %s belongs to %d groups", ErrUnconfined, accessKey, len(info.MemberOf))
	}
	held := policyNames(info.PolicyName)
	needPolicy := !exists || !slices.Equal(held, []string{policy})
	if needPolicy && !enabled {
		return c.confineDisabled(ctx, accessKey, secretKey, policy, held)
	}
	status := info.Status
	secretWorks := false
	if exists && status == madmin.AccountEnabled {
		if secretWorks, err = c.credentialsWork(ctx, accessKey, secretKey); err != nil {
			return err
		}
	}
	if !secretWorks {
		status = want
		if err := c.setUser(ctx, accessKey, secretKey, status); err != nil {
			return fmt.Errorf("writing user %s: %w", accessKey, err)
		}
	}
	if needPolicy {
		if err := c.makeOnlyPolicy(ctx, accessKey, policy, held); err != nil {
			return err
		}
	}
	if status != want {
		if err := c.admin.SetUserStatus(ctx, accessKey, want); err != nil {
			return fmt.Errorf("setting user %s %s: %w", accessKey, want, err)
		}
	}
	return nil
}

// confineDisabled maps the user to exactly policy and leaves it disabled with secretKey. The user
// is enabled to take the mapping under a throwaway secret, so that no one holding secretKey can
// use the policy in that moment, and then written disabled with secretKey.
func (c *Client) confineDisabled(ctx context.Context, accessKey, secretKey, policy string, held []string) error {
	if err := c.setUser(ctx, accessKey, GenerateSecretKey(), madmin.AccountEnabled); err != nil {
		return fmt.Errorf("writing user %s: %w", accessKey, err)
	}
	if err := c.makeOnlyPolicy(ctx, accessKey, policy, held); err != nil {
		return err
	}
	if err := c.setUser(ctx, accessKey, secretKey, madmin.AccountDisabled); err != nil {
		return fmt.Errorf("writing user %s: %w", accessKey, err)
	}
	return nil
}

// policyNames splits MinIO's comma-separated list of a user's policies.
func policyNames(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// makeOnlyPolicy maps the user to exactly policy, given the policies it holds now. It sets the
// mapping in one request, and falls back to detaching the others and attaching policy when the
// store does not take that request.
func (c *Client) makeOnlyPolicy(ctx context.Context, user, policy string, held []string) error {
	err := c.setOnlyPolicy(ctx, user, policy)
	if err == nil {
		return nil
	}
	// Stores without the one-request mapping go the longer way.
	if adminCode(err) == codeNoSuchPolicy {
		return fmt.Errorf("setting policy %s of user %s: %w", policy, user, ErrNotFound)
	}
	var others []string
	for _, p := range held {
		if p != policy {
			others = append(others, p)
		}
	}
	if len(others) > 0 {
		if err := c.detach(ctx, madmin.PolicyAssociationReq{Policies: others, User: user}); err != nil {
			return fmt.Errorf("detaching other policies from user %s: %w", user, err)
		}
	}
	if slices.Contains(held, policy) {
		return nil
	}
	_, err = c.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{policy}, User: user})
	switch code := adminCode(err); {
	case err == nil || code == codeAlreadyApplied:
		return nil
	case code == codeNoSuchPolicy:
		return fmt.Errorf("attaching policy %s to user %s: %w", policy, user, ErrNotFound)
	default:
		return fmt.Errorf("attaching policy %s to user %s: %w", policy, user, err)
	}
}

// credentialsWork reports whether the store authenticates the credentials, by listing buckets
// with them: a list or an AccessDenied answer means they were accepted.
func (c *Client) credentialsWork(ctx context.Context, accessKey, secretKey string) (bool, error) {
	s3, err := newS3(c.o, accessKey, secretKey)
	if err != nil {
		return false, err
	}
	_, err = s3.ListBuckets(ctx)
	switch code := s3Code(err); {
	case err == nil || code == minio.AccessDenied:
		return true, nil
	case code != "":
		// InvalidAccessKeyId, SignatureDoesNotMatch or another refusal: write the secret again.
		return false, nil
	default:
		return false, fmt.Errorf("trying the credentials of user %s: %w", accessKey, err)
	}
}

// UserPolicies returns the policies attached to the user.
func (c *Client) UserPolicies(ctx context.Context, user string) ([]string, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	info, err := c.userInfo(ctx, user)
	if err != nil {
		return nil, err
	}
	out := policyNames(info.PolicyName)
	slices.Sort(out)
	return out, nil
}

// UserEnabled reports whether the user exists and is enabled.
func (c *Client) UserEnabled(ctx context.Context, user string) (exists, enabled bool, err error) {
	if err := checkUser(user); err != nil {
		return false, false, err
	}
	info, err := c.userInfo(ctx, user)
	if isNotFound(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, info.Status == madmin.AccountEnabled, nil
}

// SetUserEnabled enables or disables the user. Disabling refuses the user's credentials and
// every temporary credential derived from them. Disabling a user that does not exist is success
// (it has no access to cut); enabling one fails with ErrNotFound. Nothing is written when the
// user is already in that state.
func (c *Client) SetUserEnabled(ctx context.Context, user string, enabled bool) error {
	exists, isEnabled, err := c.UserEnabled(ctx, user)
	if err != nil {
		return err
	}
	if !exists {
		if enabled {
			return fmt.Errorf("enabling user %s: %w", user, ErrNotFound)
		}
		return nil
	}
	if isEnabled == enabled {
		return nil
	}
	status := madmin.AccountDisabled
	if enabled {
		status = madmin.AccountEnabled
	}
	err = c.admin.SetUserStatus(ctx, user, status)
	switch {
	case err == nil:
		return nil
	case adminCode(err) == codeNoSuchUser && !enabled:
		return nil
	case adminCode(err) == codeNoSuchUser:
		return fmt.Errorf("enabling user %s: %w", user, ErrNotFound)
	default:
		return fmt.Errorf("setting user %s %s: %w", user, status, err)
	}
}

// RemoveUser deletes the user, with its service accounts and temporary credentials. A user that
// does not exist is success.
func (c *Client) RemoveUser(ctx context.Context, user string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	err := c.admin.RemoveUser(ctx, user)
	if err != nil && adminCode(err) != codeNoSuchUser {
		return fmt.Errorf("removing user %s: %w", user, err)
	}
	return nil
}
