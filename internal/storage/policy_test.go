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
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The workspace policy, as JSON, is exactly the statements below and nothing else.
func TestWorkspacePolicyJSON(t *testing.T) {
	doc, err := WorkspacePolicy("ws-nic-38002-s3k0v")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatalf("policy is not JSON: %v", err)
	}
	want := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{
				"Sid": "ListWorkspaceBucket", "Effect": "Allow",
				"Action":   []any{"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
				"Resource": []any{"arn:aws:s3:::ws-nic-38002-s3k0v"},
			},
			map[string]any{
				"Sid": "ReadDatasets", "Effect": "Allow",
				"Action":   []any{"s3:GetObject"},
				"Resource": []any{"arn:aws:s3:::ws-nic-38002-s3k0v/datasets/*"},
			},
			map[string]any{
				"Sid": "ReadWriteScratchAndOutputs", "Effect": "Allow",
				"Action": []any{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
					"s3:ListMultipartUploadParts", "s3:PutObject"},
				"Resource": []any{"arn:aws:s3:::ws-nic-38002-s3k0v/scratch/*", "arn:aws:s3:::ws-nic-38002-s3k0v/outputs/*"},
			},
			map[string]any{
				"Sid": "DenyDatasetsWrites", "Effect": "Deny",
				"Action": []any{"s3:AbortMultipartUpload", "s3:BypassGovernanceRetention", "s3:Delete*",
					"s3:Put*", "s3:Replicate*", "s3:RestoreObject"},
				"Resource": []any{"arn:aws:s3:::ws-nic-38002-s3k0v/datasets/*"},
			},
			map[string]any{
				"Sid": "DenyOtherBuckets", "Effect": "Deny",
				"Action":      []any{"s3:*"},
				"NotResource": []any{"arn:aws:s3:::ws-nic-38002-s3k0v", "arn:aws:s3:::ws-nic-38002-s3k0v/*"},
			},
			map[string]any{
				"Sid": "DenyAdministration", "Effect": "Deny",
				"Action": []any{"admin:*"},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("workspace policy:\n%s", gotJSON)
	}
}

// Bucket names that are not plain S3 bucket names are refused before they reach a policy.
func TestWorkspacePolicyRefusesBadBuckets(t *testing.T) {
	for _, tc := range []struct {
		bucket string
		ok     bool
	}{
		{"ws-a1", true},
		{"ws-nic-38002-s3k0v", true},
		{"abc", true},
		{"", false},
		{"ab", false},
		{"WS-A", false},
		{"ws_a", false},
		{"-ws", false},
		{"ws-", false},
		{"ws..a", false},
		{"192.168.1.1", false},
		{"ws-a/*", false},
		{"ws-a\"", false},
		{"*", false},
		{"ws-?", false},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
	} {
		t.Run(tc.bucket, func(t *testing.T) {
			_, err := WorkspacePolicy(tc.bucket)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// checkConfined fails unless every resource of doc names bucket itself or an object in it.
func checkConfined(t testing.TB, doc []byte, bucket string) {
	t.Helper()
	var p PolicyDocument
	if err := json.Unmarshal(doc, &p); err != nil {
		t.Fatalf("policy for %q is not JSON: %v", bucket, err)
	}
	arn := "arn:aws:s3:::" + bucket
	for _, st := range p.Statement {
		for _, r := range append(append([]string(nil), st.Resource...), st.NotResource...) {
			if r != arn && !strings.HasPrefix(r, arn+"/") {
				t.Fatalf("policy for %q names resource %q", bucket, r)
			}
		}
		if st.Effect == "Allow" && (len(st.Resource) == 0 || len(st.NotAction) > 0 || len(st.NotResource) > 0) {
			t.Fatalf("policy for %q has an open-ended Allow: %+v", bucket, st)
		}
		for _, a := range st.Action {
			if st.Effect == "Allow" && strings.Contains(a, "*") {
				t.Fatalf("policy for %q allows wildcard action %q", bucket, a)
			}
		}
	}
}

func FuzzWorkspacePolicy(f *testing.F) {
	for _, s := range []string{"ws-a1", "", "ws-a/*", "arn:aws:s3:::x", "ws-a\",\"Resource\":\"*", "a.b.c", "xn--ws",
		"ws-\u00e9", "ws-a\x00", strings.Repeat("a", 64), "192.168.0.1", "ws--a", "ws.-a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, bucket string) {
		doc, err := WorkspacePolicy(bucket)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		checkConfined(t, doc, bucket)
		c1, err := canonicalPolicy(doc)
		if err != nil {
			t.Fatalf("canonical form of the workspace policy: %v", err)
		}
		c2, err := canonicalPolicy(c1)
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("canonical form is not stable: %v\n%s\n%s", err, c1, c2)
		}
	})
}

// Two documents that mean the same have one canonical form; documents that differ do not.
func TestCanonicalPolicy(t *testing.T) {
	base := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/x/*"]},{"Effect":"Deny","Action":["admin:*"]}]}`
	for _, tc := range []struct {
		name string
		doc  string
		same bool
	}{
		{"identical", base, true},
		{"reordered statements and lists, whitespace",
			`{ "Statement": [ {"Action":"admin:*","Effect":"Deny"}, {"Resource":"arn:aws:s3:::b/x/*","Action":["s3:PutObject","s3:GetObject","s3:GetObject"],"Effect":"Allow"} ], "Version": "2012-10-17" }`, true},
		{"empty Sid and empty lists",
			`{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/x/*"],"NotResource":[]},{"Effect":"Deny","Action":["admin:*"]}]}`, true},
		{"duplicate statement",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["admin:*"]},{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/x/*"]},{"Effect":"Deny","Action":["admin:*"]}]}`, true},
		{"another action",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::b/x/*"]},{"Effect":"Deny","Action":["admin:*"]}]}`, false},
		{"another resource",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/*"]},{"Effect":"Deny","Action":["admin:*"]}]}`, false},
		{"deny dropped",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/x/*"]}]}`, false},
		{"effect flipped",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/x/*"]},{"Effect":"Allow","Action":["admin:*"]}]}`, false},
		{"a condition added",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/x/*"],"Condition":{"StringEquals":{"s3:prefix":"x/"}}},{"Effect":"Deny","Action":["admin:*"]}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := canonicalPolicy([]byte(base))
			if err != nil {
				t.Fatal(err)
			}
			b, err := canonicalPolicy([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a, b) != tc.same {
				t.Fatalf("same = %v, want %v\n%s\n%s", bytes.Equal(a, b), tc.same, a, b)
			}
		})
	}
}

// Conditions compare equal whatever the order and form of their values.
func TestCanonicalPolicyConditions(t *testing.T) {
	a := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["x/*","y/*"]},"Bool":{"aws:SecureTransport":true}}}]}`
	b := `{"Version":"2012-10-17","Statement":[{"Condition":{"Bool":{"aws:SecureTransport":"true"},"StringLike":{"s3:prefix":["y/*","x/*"]}},"Resource":["arn:aws:s3:::b"],"Action":["s3:ListBucket"],"Effect":"Allow"}]}`
	ca, err := canonicalPolicy([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := canonicalPolicy([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, cb) {
		t.Fatalf("conditions differ:\n%s\n%s", ca, cb)
	}
}

// Documents that are not policy documents are refused with ErrInvalid.
func TestCanonicalPolicyRefuses(t *testing.T) {
	for _, doc := range []string{
		``, `null x`, `{`, `[]`, `"policy"`, `{"Statement":{"Effect":"Allow"}}`,
		`{"Statement":[{"Action":1}]}`, `{"Statement":[{"Resource":[1]}]}`,
		`{"Statement":[{"Condition":"x"}]}`, `{"Statement":[{"Condition":{"StringEquals":"x"}}]}`,
		`{"Version":"2012-10-17","Statement":[]} {"Version":"2012-10-17","Statement":[]}`,
	} {
		if _, err := canonicalPolicy([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("canonicalPolicy(%q) = %v, want ErrInvalid", doc, err)
		}
	}
}

func FuzzCanonicalPolicy(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`))
	f.Add([]byte(`{"Statement":[{"Condition":{"StringLike":{"k":[1,"a",null,true]}}},null,{}]}`))
	f.Add([]byte(`{"Statement":[{"Action":[]}],"Id":"x","Version":1}`))
	f.Add([]byte(`{"Statement":[{"Sid":5,"Action":"\u0000","Resource":["\ud800"]}]}`))
	f.Add([]byte("{\"Statement\":[{\"Effect\":\"Allow\"}]}\x00"))
	f.Add([]byte(`{"Statement":[{"Principal":{"AWS":["*"]},"Action":"s3:*"}]}`))
	f.Add([]byte(strings.Repeat("[", 1000)))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c1, err := canonicalPolicy(doc)
		if err != nil {
			return
		}
		c2, err := canonicalPolicy(c1)
		if err != nil {
			t.Fatalf("canonical form is refused: %v\n%s", err, c1)
		}
		if !bytes.Equal(c1, c2) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", c1, c2)
		}
	})
}

// Generated credentials have the stated lengths and alphabets, differ each time, and are not
// printed by the fmt package.
func TestGenerateCredentials(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		c := GenerateCredentials()
		if len(c.AccessKey) != AccessKeyLength || strings.Trim(c.AccessKey, upperDigits) != "" {
			t.Fatalf("access key %q is not %d upper-case letters and digits", c.AccessKey, AccessKeyLength)
		}
		if len(c.SecretKey) != SecretKeyLength || strings.Trim(c.SecretKey, alphanumeric) != "" {
			t.Fatalf("secret key is not %d letters and digits", SecretKeyLength)
		}
		if err := checkUser(c.AccessKey); err != nil {
			t.Fatalf("generated access key is refused: %v", err)
		}
		if seen[c.AccessKey] || seen[c.SecretKey] {
			t.Fatal("a generated key repeated")
		}
		seen[c.AccessKey], seen[c.SecretKey] = true, true
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(format, c); strings.Contains(s, c.SecretKey) {
				t.Fatalf("%s prints the secret key", format)
			}
		}
		if s := fmt.Sprintf("%v", []Credentials{c}); strings.Contains(s, c.SecretKey) {
			t.Fatal("a slice of credentials prints the secret key")
		}
	}
}

// Every character of the alphabet is drawn, and none much more often than the others.
func TestRandomStringIsUniform(t *testing.T) {
	counts := make(map[rune]int)
	const n = 62 * 2000
	for _, r := range randomString(n, alphanumeric) {
		counts[r]++
	}
	if len(counts) != len(alphanumeric) {
		t.Fatalf("drew %d distinct characters, want %d", len(counts), len(alphanumeric))
	}
	for r, c := range counts {
		// Expected 2000 each; a bias of 256 mod 62 would show as about 2500 for some characters.
		if c < 1700 || c > 2300 {
			t.Fatalf("character %q drawn %d times of %d", r, c, n)
		}
	}
}

// User and policy names are checked before any request.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name      string
		user, pol bool
	}{
		{"ws-nic-38002-s3k0v", true, true},
		{"AKIA0123456789ABCDEF", true, true},
		{"ab", false, true},
		{"a", false, true},
		{"", false, false},
		{"a,b", false, false},
		{"a=b", false, false},
		{"-ab", false, false},
		{"ab cd", false, false},
		{"ab/cd", false, false},
		{"user@example", true, false},
		{strings.Repeat("a", 128), true, true},
		{strings.Repeat("a", 129), false, false},
	} {
		if got := checkUser(tc.name) == nil; got != tc.user {
			t.Errorf("checkUser(%q) ok = %v, want %v", tc.name, got, tc.user)
		}
		if got := checkPolicy(tc.name) == nil; got != tc.pol {
			t.Errorf("checkPolicy(%q) ok = %v, want %v", tc.name, got, tc.pol)
		}
	}
}
