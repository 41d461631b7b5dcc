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
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	vault "github.com/hashicorp/vault/api"
)

// DefaultMount is the path the transit secrets engine is mounted at unless told otherwise.
const DefaultMount = "transit"

// KeyType is the transit key type EnsureKey creates: it can wrap data keys and compute HMACs.
const KeyType = "aes256-gcm96"

// transitAlgorithm is the hash transit uses for HMACs, matching Local.
const transitAlgorithm = "sha2-256"

// sha256Size is the size of an HMAC-SHA256 in bytes.
const sha256Size = Size / 2

// namePattern is what a transit key name or mount may be: it is placed in request paths.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ErrUnsafeKey is returned by EnsureKey for an existing key whose settings would let its
// material leave Vault (exportable, or plaintext backup allowed) or that is of another type.
var ErrUnsafeKey = errors.New("pseudonym: transit key settings are unsafe")

// VaultError is a request Vault refused. Messages holds Vault's own messages for key management
// requests only; for requests that carry identifiers or key material it is empty, so that nothing
// Vault echoes can leak into logs.
type VaultError struct {
	// Op is the operation that failed, e.g. "create key".
	Op string
	// StatusCode is the HTTP status Vault answered with.
	StatusCode int
	// Messages are Vault's error messages, when safe to keep.
	Messages []string
}

// Error describes the refusal without any identifier or key material.
func (e *VaultError) Error() string {
	if len(e.Messages) == 0 {
		return fmt.Sprintf("pseudonym: %s: vault answered HTTP %d", e.Op, e.StatusCode)
	}
	return fmt.Sprintf("pseudonym: %s: vault answered HTTP %d: %s", e.Op, e.StatusCode, strings.Join(e.Messages, "; "))
}

// Vault manages per-agreement keys in a Vault transit secrets engine and makes pseudonymisers
// from them.
type Vault struct {
	client *vault.Client
	mount  string
}

// NewVault returns a Vault using client (already addressed and authenticated) and the transit
// engine mounted at mount (DefaultMount when empty).
func NewVault(client *vault.Client, mount string) (*Vault, error) {
	if client == nil {
		return nil, errors.New("pseudonym: vault client is nil")
	}
	if mount == "" {
		mount = DefaultMount
	}
	if !namePattern.MatchString(mount) {
		return nil, fmt.Errorf("pseudonym: transit mount %q is not a plain path segment", mount)
	}
	return &Vault{client: client, mount: mount}, nil
}

// Key describes a transit key.
type Key struct {
	// Name is the key's name.
	Name string
	// LatestVersion is the key's newest version.
	LatestVersion int
}

// WrappedKey is a data key encrypted by a transit key; only the transit key can unwrap it.
type WrappedKey struct {
	// Ciphertext is the wrapped key as Vault writes it ("vault:vN:...").
	Ciphertext string
	// KeyVersion is the transit key version that wrapped it.
	KeyVersion int
}

func checkName(name string) error {
	if !namePattern.MatchString(name) {
		return errors.New("pseudonym: key name must be 1-128 letters, digits, '.', '_' or '-'")
	}
	return nil
}

func (v *Vault) path(parts ...string) string {
	return v.mount + "/" + strings.Join(parts, "/")
}

// EnsureKey creates the transit key name if it does not exist, of type KeyType, not exportable,
// with plaintext backup and deletion refused, and returns it. An existing key is accepted only
// with those settings; deletion_allowed is set back to false if it was left true.
func (v *Vault) EnsureKey(ctx context.Context, name string) (Key, error) {
	if err := checkName(name); err != nil {
		return Key{}, err
	}
	info, err := v.readKey(ctx, name)
	if err != nil {
		return Key{}, err
	}
	if info == nil {
		_, err = v.client.Logical().WriteWithContext(ctx, v.path("keys", name), map[string]any{
			"type":                   KeyType,
			"exportable":             false,
			"allow_plaintext_backup": false,
		})
		if err != nil {
			return Key{}, vaultError("create key", err, true)
		}
		if info, err = v.readKey(ctx, name); err != nil {
			return Key{}, err
		}
		if info == nil {
			return Key{}, errors.New("pseudonym: transit key not found after creating it")
		}
	}
	if typ, _ := info["type"].(string); typ != KeyType {
		return Key{}, fmt.Errorf("%w: type is %q, want %q", ErrUnsafeKey, typ, KeyType)
	}
	if b, _ := info["exportable"].(bool); b {
		return Key{}, fmt.Errorf("%w: key is exportable", ErrUnsafeKey)
	}
	if b, _ := info["allow_plaintext_backup"].(bool); b {
		return Key{}, fmt.Errorf("%w: key allows plaintext backup", ErrUnsafeKey)
	}
	if b, _ := info["deletion_allowed"].(bool); b {
		_, err = v.client.Logical().WriteWithContext(ctx, v.path("keys", name, "config"), map[string]any{
			"deletion_allowed": false,
		})
		if err != nil {
			return Key{}, vaultError("refuse key deletion", err, true)
		}
	}
	latest, ok := toInt(info["latest_version"])
	if !ok || latest < 1 {
		return Key{}, errors.New("pseudonym: transit key has no usable latest_version")
	}
	return Key{Name: name, LatestVersion: latest}, nil
}

// readKey returns the key's description, or nil when it does not exist.
func (v *Vault) readKey(ctx context.Context, name string) (map[string]any, error) {
	s, err := v.client.Logical().ReadWithContext(ctx, v.path("keys", name))
	if err != nil {
		var re *vault.ResponseError
		if errors.As(err, &re) && re.StatusCode == 404 {
			return nil, nil
		}
		return nil, vaultError("read key", err, true)
	}
	if s == nil || s.Data == nil {
		return nil, nil
	}
	return s.Data, nil
}

// NewDataKey asks transit for a new 256-bit data key wrapped by version of the key name (the
// latest when version is 0). Only the wrapped form is requested; the plaintext never leaves Vault
// here.
func (v *Vault) NewDataKey(ctx context.Context, name string, version int) (WrappedKey, error) {
	if err := checkName(name); err != nil {
		return WrappedKey{}, err
	}
	if version < 0 {
		return WrappedKey{}, errors.New("pseudonym: key version must not be negative")
	}
	data := map[string]any{"bits": KeySize * 8}
	if version > 0 {
		data["key_version"] = version
	}
	s, err := v.client.Logical().WriteWithContext(ctx, v.path("datakey", "wrapped", name), data)
	if err != nil {
		return WrappedKey{}, vaultError("generate data key", err, false)
	}
	if s == nil || s.Data == nil {
		return WrappedKey{}, errors.New("pseudonym: generate data key: empty answer")
	}
	ct, _ := s.Data["ciphertext"].(string)
	got, ok := toInt(s.Data["key_version"])
	if ct == "" || !ok || got < 1 {
		return WrappedKey{}, errors.New("pseudonym: generate data key: answer lacks ciphertext or key_version")
	}
	if version > 0 && got != version {
		return WrappedKey{}, fmt.Errorf("pseudonym: generate data key: wrapped with key version %d, want %d", got, version)
	}
	if !strings.HasPrefix(ct, versionPrefix(got)) {
		return WrappedKey{}, errors.New("pseudonym: generate data key: ciphertext does not name its key version")
	}
	return WrappedKey{Ciphertext: ct, KeyVersion: got}, nil
}

// Unwrap decrypts a wrapped data key with the transit key name and returns a Local holding it.
// The caller must Close the Local when done, to wipe the key. The decoded key is wiped here; the
// base64 text of Vault's answer is a Go string inside the client, which cannot be wiped and is
// left to the garbage collector.
func (v *Vault) Unwrap(ctx context.Context, name string, wrapped WrappedKey) (*Local, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if wrapped.KeyVersion < 1 || !strings.HasPrefix(wrapped.Ciphertext, versionPrefix(wrapped.KeyVersion)) {
		return nil, errors.New("pseudonym: unwrap: ciphertext does not match its key version")
	}
	s, err := v.client.Logical().WriteWithContext(ctx, v.path("decrypt", name), map[string]any{
		"ciphertext": wrapped.Ciphertext,
	})
	if err != nil {
		return nil, vaultError("unwrap data key", err, false)
	}
	if s == nil || s.Data == nil {
		return nil, errors.New("pseudonym: unwrap data key: empty answer")
	}
	b64, _ := s.Data["plaintext"].(string)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, err := base64.StdEncoding.Decode(key, []byte(b64))
	defer clear(key)
	if err != nil || n != KeySize {
		return nil, errors.New("pseudonym: unwrap data key: answer is not a 32-byte key")
	}
	return NewLocal(key[:n])
}

// DeleteKey deletes the transit key name and with it every version, so that no wrapped data key
// can be unwrapped and no pseudonym recomputed again: the crypto-shredding evidence that an
// agreement's copies are unlinkable. Deleting a key that does not exist succeeds.
func (v *Vault) DeleteKey(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	info, err := v.readKey(ctx, name)
	if err != nil || info == nil {
		return err
	}
	_, err = v.client.Logical().WriteWithContext(ctx, v.path("keys", name, "config"), map[string]any{
		"deletion_allowed": true,
	})
	if err != nil {
		return vaultError("allow key deletion", err, true)
	}
	if _, err = v.client.Logical().DeleteWithContext(ctx, v.path("keys", name)); err != nil {
		return vaultError("delete key", err, true)
	}
	return nil
}

// Transit returns a pseudonymiser that asks Vault to compute each HMAC with the pinned version of
// the key name.
func (v *Vault) Transit(name string, version int) (*Transit, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, errors.New("pseudonym: transit mode needs a pinned key version")
	}
	return &Transit{v: v, name: name, version: version}, nil
}

// Transit computes pseudonyms in Vault with transit's hmac endpoint, one request per batch. It is
// safe for concurrent use.
type Transit struct {
	v       *Vault
	name    string
	version int
}

// Pseudonymise returns the pseudonym of each normalised identifier, in order, in one request.
// Any item Vault fails, or answers with another key version, fails the whole batch.
func (t *Transit) Pseudonymise(ctx context.Context, ids [][]byte) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, ctx.Err()
	}
	items := make([]map[string]string, len(ids))
	for i, id := range ids {
		items[i] = map[string]string{"input": base64.StdEncoding.EncodeToString(id)}
	}
	s, err := t.v.client.Logical().WriteWithContext(ctx, t.v.path("hmac", t.name), map[string]any{
		"key_version": t.version,
		"algorithm":   transitAlgorithm,
		"batch_input": items,
	})
	if err != nil {
		return nil, vaultError("transit hmac", err, false)
	}
	if s == nil || s.Data == nil {
		return nil, errors.New("pseudonym: transit hmac: empty answer")
	}
	results, _ := s.Data["batch_results"].([]any)
	return decodeHMACs(results, len(ids), t.version)
}

// decodeHMACs turns transit's batch_results into hex pseudonyms, checking that there is one
// result per input, that none failed and that each was made with the pinned key version.
func decodeHMACs(results []any, want, version int) ([][]byte, error) {
	if len(results) != want {
		return nil, fmt.Errorf("pseudonym: transit hmac: %d results for %d inputs", len(results), want)
	}
	prefix := versionPrefix(version)
	buf := make([]byte, want*Size)
	out := make([][]byte, want)
	var raw [sha256Size + 2]byte
	for i, r := range results {
		item, _ := r.(map[string]any)
		if msg, _ := item["error"].(string); msg != "" {
			return nil, fmt.Errorf("pseudonym: transit hmac: item %d of the batch failed", i)
		}
		mac, _ := item["hmac"].(string)
		enc, ok := strings.CutPrefix(mac, prefix)
		if !ok {
			return nil, fmt.Errorf("pseudonym: transit hmac: item %d not made with key version %d", i, version)
		}
		if base64.StdEncoding.DecodedLen(len(enc)) > len(raw) {
			return nil, fmt.Errorf("pseudonym: transit hmac: item %d is not a 32-byte HMAC", i)
		}
		n, err := base64.StdEncoding.Decode(raw[:], []byte(enc))
		if err != nil || n != sha256Size {
			return nil, fmt.Errorf("pseudonym: transit hmac: item %d is not a 32-byte HMAC", i)
		}
		dst := buf[i*Size : (i+1)*Size : (i+1)*Size]
		hex.Encode(dst, raw[:n])
		out[i] = dst
	}
	return out, nil
}

// KeyVersion returns the pinned key version.
func (t *Transit) KeyVersion() int { return t.version }

func versionPrefix(v int) string { return "vault:v" + strconv.Itoa(v) + ":" }

// vaultError turns an error from the Vault client into one safe to log. Vault's messages are kept
// only when detail is true.
func vaultError(op string, err error, detail bool) error {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		ve := &VaultError{Op: op, StatusCode: re.StatusCode}
		if detail && !re.RawError {
			ve.Messages = append([]string(nil), re.Errors...)
		}
		return ve
	}
	return fmt.Errorf("pseudonym: %s: %w", op, err)
}

// toInt reads a JSON number as Vault's client decodes it.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.Atoi(n.String())
		return i, err == nil
	case float64:
		if n != float64(int(n)) {
			return 0, false
		}
		return int(n), true
	case int:
		return n, true
	case int64:
		return int(n), true
	}
	return 0, false
}
