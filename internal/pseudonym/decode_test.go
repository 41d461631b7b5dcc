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
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
)

func TestDecodeHMACs(t *testing.T) {
	mac := make([]byte, 32)
	for i := range mac {
		mac[i] = byte(i * 7)
	}
	good := "vault:v3:" + base64.StdEncoding.EncodeToString(mac)
	wantHex := "00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9"
	item := func(k, v string) any { return map[string]any{k: v} }
	tests := []struct {
		name    string
		results []any
		want    int
		version int
		errPart string
	}{
		{"one", []any{item("hmac", good)}, 1, 3, ""},
		{"two", []any{item("hmac", good), item("hmac", good)}, 2, 3, ""},
		{"too few", []any{item("hmac", good)}, 2, 3, "1 results for 2 inputs"},
		{"too many", []any{item("hmac", good), item("hmac", good)}, 1, 3, "2 results for 1 inputs"},
		{"item error", []any{item("hmac", good), map[string]any{"error": "unable to decode input as base64"}}, 2, 3, "item 1 of the batch failed"},
		{"other version", []any{item("hmac", good)}, 1, 2, "not made with key version 2"},
		{"version prefix only", []any{item("hmac", "vault:v3:")}, 1, 3, "not a 32-byte HMAC"},
		{"similar version", []any{item("hmac", "vault:v31:"+base64.StdEncoding.EncodeToString(mac))}, 1, 3, "not made with key version 3"},
		{"short", []any{item("hmac", "vault:v3:"+base64.StdEncoding.EncodeToString(mac[:31]))}, 1, 3, "not a 32-byte HMAC"},
		{"long", []any{item("hmac", "vault:v3:"+base64.StdEncoding.EncodeToString(append(mac, 1)))}, 1, 3, "not a 32-byte HMAC"},
		{"very long", []any{item("hmac", "vault:v3:"+strings.Repeat("A", 4096))}, 1, 3, "not a 32-byte HMAC"},
		{"not base64", []any{item("hmac", "vault:v3:"+strings.Repeat("*", 44))}, 1, 3, "not a 32-byte HMAC"},
		{"missing", []any{map[string]any{}}, 1, 3, "not made with key version 3"},
		{"not an object", []any{"vault:v3:x"}, 1, 3, "not made with key version 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeHMACs(tt.results, tt.want, tt.version)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want %q", err, tt.errPart)
				}
				if strings.Contains(err.Error(), good[9:]) {
					t.Error("error carries an HMAC")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if string(g) != wantHex {
					t.Errorf("got %s, want %s", g, wantHex)
				}
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"a", "agreement-nic-38002-s3k0v", "A.b_c-9", strings.Repeat("k", 128)} {
		if err := checkName(name); err != nil {
			t.Errorf("checkName(%q): %v", name, err)
		}
	}
	for _, name := range []string{"", "-a", ".hidden", "../sys", "a/b", "a b", "a?b", strings.Repeat("k", 129), "é"} {
		if err := checkName(name); err == nil {
			t.Errorf("checkName(%q) accepted it", name)
		}
	}
	if _, err := NewVault(nil, ""); err == nil {
		t.Error("NewVault(nil) accepted it")
	}
	c, err := vault.NewClient(vault.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVault(c, "sys/../transit"); err == nil {
		t.Error("a mount with a slash was accepted")
	}
	v, err := NewVault(c, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Transit("ok", 0); err == nil {
		t.Error("transit without a pinned version was accepted")
	}
	if _, err := v.Transit("../x", 1); err == nil {
		t.Error("transit with a bad key name was accepted")
	}
}

func TestVaultErrorHidesMessagesForDataRequests(t *testing.T) {
	re := &vault.ResponseError{HTTPMethod: "PUT", URL: "http://127.0.0.1/v1/transit/decrypt/k", StatusCode: 400,
		Errors: []string{"invalid ciphertext: vault:v1:c2VjcmV0"}}
	err := vaultError("unwrap data key", re, false)
	var ve *VaultError
	if !errors.As(err, &ve) || ve.StatusCode != 400 || len(ve.Messages) != 0 || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("data request error = %v", err)
	}
	err = vaultError("create key", re, true)
	if !errors.As(err, &ve) || len(ve.Messages) != 1 || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("key management error = %v", err)
	}
	raw := &vault.ResponseError{StatusCode: 502, RawError: true, Errors: []string{"<html>body</html>"}}
	if err := vaultError("create key", raw, true); strings.Contains(err.Error(), "body") {
		t.Errorf("raw error body kept: %v", err)
	}
	plain := errors.New("dial tcp: connection refused")
	if err := vaultError("read key", plain, true); !errors.Is(err, plain) {
		t.Errorf("transport error not wrapped: %v", err)
	}
}

func TestToInt(t *testing.T) {
	tests := []struct {
		in   any
		want int
		ok   bool
	}{
		{json.Number("3"), 3, true}, {json.Number("3.5"), 0, false}, {float64(2), 2, true}, {2.5, 0, false},
		{7, 7, true}, {int64(8), 8, true}, {"3", 0, false}, {nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := toInt(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("toInt(%#v) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
