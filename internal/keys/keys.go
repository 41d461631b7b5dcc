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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
)

var (
	// namePattern is what a transit mount or key name may be; it is placed in ACL paths, so it
	// may hold no glob ('*', '+'), quote or slash.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	// policyPattern is what a policy name may be. Vault lowercases policy names, so only lower
	// case is accepted, and the name is what is stored.
	policyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)
	// accessorPattern is what a token accessor may be.
	accessorPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// reservedPolicies are Vault's built-in policies, which must never be written, deleted or
// given to a workspace.
var reservedPolicies = []string{"root", "default", "response-wrapping", "control-group"}

// Errors callers can test for with errors.Is.
var (
	// ErrInvalid is an argument refused before any request is made.
	ErrInvalid = errors.New("keys: invalid argument")
	// ErrTokenNotFound is a token accessor Vault does not know: revoked, expired or never
	// issued.
	ErrTokenNotFound = errors.New("keys: token not found")
	// ErrUnconfined is a token Vault issued with other policies or properties than asked for;
	// it has been revoked.
	ErrUnconfined = errors.New("keys: token is not confined as asked")
)

// VaultError is a request Vault refused. It carries Vault's messages for the policy and token
// management requests this package makes, none of which echo a token.
type VaultError struct {
	// Op is the operation that failed, e.g. "write policy".
	Op string
	// StatusCode is the HTTP status Vault answered with.
	StatusCode int
	// Messages are Vault's error messages.
	Messages []string
}

// Error describes the refusal.
func (e *VaultError) Error() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("keys: %s: vault answered HTTP %d", e.Op, e.StatusCode)
	}
	return fmt.Sprintf("keys: %s: vault answered HTTP %d: %s", e.Op, e.StatusCode, strings.Join(e.Messages, "; "))
}

// vaultError turns an error from the Vault client into a VaultError, or wraps it with op.
func vaultError(op string, err error) error {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		ve := &VaultError{Op: op, StatusCode: re.StatusCode}
		if !re.RawError {
			ve.Messages = append([]string(nil), re.Errors...)
		}
		return ve
	}
	return fmt.Errorf("keys: %s: %w", op, err)
}

// IsPermissionDenied reports whether err is Vault refusing a request with HTTP 403.
func IsPermissionDenied(err error) bool {
	var ve *VaultError
	if errors.As(err, &ve) {
		return ve.StatusCode == http.StatusForbidden
	}
	var re *vault.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}

func checkName(what, name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: %s must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, what)
	}
	return nil
}

func checkPolicy(name string) error {
	if !policyPattern.MatchString(name) {
		return fmt.Errorf("%w: policy name must be 1-128 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid)
	}
	if slices.Contains(reservedPolicies, name) {
		return fmt.Errorf("%w: policy %s is built into Vault", ErrInvalid, name)
	}
	return nil
}

func checkAccessor(accessor string) error {
	if !accessorPattern.MatchString(accessor) {
		return fmt.Errorf("%w: malformed token accessor", ErrInvalid)
	}
	return nil
}

func checkClient(client *vault.Client) error {
	if client == nil {
		return fmt.Errorf("%w: vault client is nil", ErrInvalid)
	}
	return nil
}

// WorkspacePolicy returns the Vault ACL policy, in HCL, of a workspace confined to the transit
// key keyName on the transit engine mounted at transitMount: update on <mount>/hmac/<key>,
// <mount>/hmac/<key>/* and <mount>/decrypt/<key>, and nothing else (see the package
// documentation).
func WorkspacePolicy(transitMount, keyName string) (string, error) {
	if err := checkName("transit mount", transitMount); err != nil {
		return "", err
	}
	if err := checkName("transit key name", keyName); err != nil {
		return "", err
	}
	base := transitMount + "/"
	var b strings.Builder
	fmt.Fprintf(&b, "# Workspace confined to transit key %q on %q.\n", keyName, base)
	b.WriteString("# Compute pseudonyms (HMAC) with the key, at a pinned version and algorithm.\n")
	fmt.Fprintf(&b, "path %q {\n  capabilities = [\"update\"]\n}\n\n", base+"hmac/"+keyName)
	fmt.Fprintf(&b, "path %q {\n  capabilities = [\"update\"]\n}\n\n", base+"hmac/"+keyName+"/*")
	b.WriteString("# Unwrap the agreement's wrapped data key; the key encrypts nothing else.\n")
	fmt.Fprintf(&b, "path %q {\n  capabilities = [\"update\"]\n}\n", base+"decrypt/"+keyName)
	return b.String(), nil
}

// EnsurePolicy creates or replaces the ACL policy name with hcl. It writes nothing when Vault
// already holds exactly that text.
func EnsurePolicy(ctx context.Context, client *vault.Client, name, hcl string) error {
	if err := checkClient(client); err != nil {
		return err
	}
	if err := checkPolicy(name); err != nil {
		return err
	}
	if strings.TrimSpace(hcl) == "" {
		return fmt.Errorf("%w: policy %s is empty", ErrInvalid, name)
	}
	got, err := client.Sys().GetPolicyWithContext(ctx, name)
	if err != nil {
		return vaultError("read policy "+name, err)
	}
	if got == hcl {
		return nil
	}
	if err := client.Sys().PutPolicyWithContext(ctx, name, hcl); err != nil {
		return vaultError("write policy "+name, err)
	}
	return nil
}

// DeletePolicy deletes the ACL policy name. Tokens that hold it keep its name but lose every
// right it granted. Since tokens hold policies by name, a policy written again under the same
// name re-arms every unexpired token issued for it: do not reuse a name while such tokens may
// live. A policy that does not exist is success.
func DeletePolicy(ctx context.Context, client *vault.Client, name string) error {
	if err := checkClient(client); err != nil {
		return err
	}
	if err := checkPolicy(name); err != nil {
		return err
	}
	err := client.Sys().DeletePolicyWithContext(ctx, name)
	var re *vault.ResponseError
	if err == nil || errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		return nil
	}
	return vaultError("delete policy "+name, err)
}

// Token is a Vault token issued by IssueToken. Printing it with the fmt or slog packages shows
// the accessor only.
type Token struct {
	// ID is the token itself, a bearer secret.
	ID string
	// Accessor names the token for lookup and revocation without holding it.
	Accessor string
	// Expires is when the token stops working.
	Expires time.Time
}

// String describes the token without its ID.
func (t Token) String() string {
	return "Token{Accessor: " + t.Accessor + ", Expires: " + t.Expires.UTC().Format(time.RFC3339) + ", ID: <redacted>}"
}

// GoString is String, so that %#v does not print the ID either.
func (t Token) GoString() string { return t.String() }

// LogValue describes the token to log/slog without its ID.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessor", t.Accessor), slog.Time("expires", t.Expires))
}

// DisplayPrefix begins the display name of every token IssueToken makes, followed by the
// policy's name, so that an operator can find them in Vault's audit log.
const DisplayPrefix = "fivesafes-"

// MetadataPolicy is the token metadata key that records the policy a token was issued for.
const MetadataPolicy = "fivesafes-policy"

// IssueToken issues an orphan service token that holds only the policy, without Vault's default
// policy, not renewable, that expires after ttl (rounded up to whole seconds; Vault may cap it,
// and Expires says when it really ends). A token Vault issued otherwise is revoked and the call
// fails with ErrUnconfined. The caller needs sudo on auth/token/create-orphan.
func IssueToken(ctx context.Context, client *vault.Client, policy string, ttl time.Duration) (Token, error) {
	if err := checkClient(client); err != nil {
		return Token{}, err
	}
	if err := checkPolicy(policy); err != nil {
		return Token{}, err
	}
	if ttl <= 0 || ttl > math.MaxInt32*time.Second {
		return Token{}, fmt.Errorf("%w: token TTL %s is not positive or too long", ErrInvalid, ttl)
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	ttlText := strconv.FormatInt(secs, 10) + "s"
	renewable := false
	issued := time.Now()
	s, err := client.Auth().Token().CreateOrphanWithContext(ctx, &vault.TokenCreateRequest{
		Policies:        []string{policy},
		NoDefaultPolicy: true,
		TTL:             ttlText,
		ExplicitMaxTTL:  ttlText,
		Renewable:       &renewable,
		DisplayName:     DisplayPrefix + policy,
		Metadata:        map[string]string{MetadataPolicy: policy},
		Type:            "service",
	})
	if err != nil {
		return Token{}, vaultError("issue token for policy "+policy, err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" || s.Auth.Accessor == "" {
		return Token{}, fmt.Errorf("keys: issue token for policy %s: answer lacks a token or accessor", policy)
	}
	a := s.Auth
	tok := Token{ID: a.ClientToken, Accessor: a.Accessor, Expires: issued.Add(time.Duration(a.LeaseDuration) * time.Second)}
	if !slices.Equal(a.Policies, []string{policy}) || a.Renewable || !a.Orphan || a.LeaseDuration <= 0 || int64(a.LeaseDuration) > secs {
		err := fmt.Errorf("%w: vault issued a token with %d policies, renewable %v, orphan %v, TTL %ds for policy %s",
			ErrUnconfined, len(a.Policies), a.Renewable, a.Orphan, a.LeaseDuration, policy)
		if rerr := RevokeAccessor(ctx, client, tok.Accessor); rerr != nil {
			return Token{}, fmt.Errorf("%w; revoking it failed too: %w", err, rerr)
		}
		return Token{}, err
	}
	return tok, nil
}

// RevokeAccessor revokes the token with this accessor. An accessor Vault does not know (already
// revoked, expired or never issued) is success.
func RevokeAccessor(ctx context.Context, client *vault.Client, accessor string) error {
	if err := checkClient(client); err != nil {
		return err
	}
	if err := checkAccessor(accessor); err != nil {
		return err
	}
	err := client.Auth().Token().RevokeAccessorWithContext(ctx, accessor)
	if err != nil && !unknownAccessor(err) {
		return vaultError("revoke token", err)
	}
	return nil
}

// unknownAccessor reports whether err is Vault saying it knows no token with the accessor.
func unknownAccessor(err error) bool {
	var re *vault.ResponseError
	if !errors.As(err, &re) || (re.StatusCode != http.StatusBadRequest && re.StatusCode != http.StatusNotFound) {
		return false
	}
	for _, m := range re.Errors {
		if strings.Contains(m, "invalid accessor") {
			return true
		}
	}
	return false
}

// TokenInfo describes a live token, looked up by its accessor.
type TokenInfo struct {
	// Accessor names the token.
	Accessor string
	// Policies are the policies the token holds, sorted.
	Policies []string
	// DisplayName is the token's display name, e.g. "token-fivesafes-<policy>".
	DisplayName string
	// Orphan says the token has no parent.
	Orphan bool
	// Renewable says the token's TTL could be extended.
	Renewable bool
	// Expires is when the token stops working; zero for a token that never expires.
	Expires time.Time
}

// LookupToken describes the token with this accessor, or fails with ErrTokenNotFound when Vault
// knows none (revoked, expired or never issued).
func LookupToken(ctx context.Context, client *vault.Client, accessor string) (TokenInfo, error) {
	if err := checkClient(client); err != nil {
		return TokenInfo{}, err
	}
	if err := checkAccessor(accessor); err != nil {
		return TokenInfo{}, err
	}
	s, err := client.Auth().Token().LookupAccessorWithContext(ctx, accessor)
	if err != nil {
		if unknownAccessor(err) {
			return TokenInfo{}, ErrTokenNotFound
		}
		return TokenInfo{}, vaultError("look up token", err)
	}
	if s == nil || s.Data == nil {
		return TokenInfo{}, ErrTokenNotFound
	}
	info := TokenInfo{Accessor: accessor}
	info.DisplayName, _ = s.Data["display_name"].(string)
	info.Orphan, _ = s.Data["orphan"].(bool)
	info.Renewable, _ = s.Data["renewable"].(bool)
	if ps, ok := s.Data["policies"].([]any); ok {
		for _, p := range ps {
			if p, ok := p.(string); ok {
				info.Policies = append(info.Policies, p)
			}
		}
	}
	slices.Sort(info.Policies)
	if et, _ := s.Data["expire_time"].(string); et != "" {
		t, err := time.Parse(time.RFC3339Nano, et)
		if err != nil {
			return TokenInfo{}, fmt.Errorf("keys: look up token: malformed expire_time: %w", err)
		}
		info.Expires = t
	}
	return info, nil
}

// TokenValid reports whether the token with this accessor still works: Vault knows it and it
// has not expired.
func TokenValid(ctx context.Context, client *vault.Client, accessor string) (bool, error) {
	info, err := LookupToken(ctx, client, accessor)
	if errors.Is(err, ErrTokenNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.Expires.IsZero() || time.Now().Before(info.Expires), nil
}
