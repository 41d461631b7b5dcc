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
	"fmt"
	"slices"
	"sort"
)

// The prefixes of a workspace bucket.
const (
	// DatasetsPrefix holds the dataset extracts; the workspace may only read it.
	DatasetsPrefix = "datasets/"
	// ScratchPrefix is the researchers' working area.
	ScratchPrefix = "scratch/"
	// OutputsPrefix holds the files researchers may ask to release.
	OutputsPrefix = "outputs/"
)

// PolicyDocument is an IAM policy document as MinIO reads it.
type PolicyDocument struct {
	// Version is the policy language version, "2012-10-17".
	Version string `json:"Version"`
	// Statement lists the statements.
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement is one statement of a PolicyDocument.
type PolicyStatement struct {
	// Sid names the statement.
	Sid string `json:"Sid,omitempty"`
	// Effect is "Allow" or "Deny".
	Effect string `json:"Effect"`
	// Action lists the actions the statement covers.
	Action []string `json:"Action,omitempty"`
	// NotAction lists the actions the statement does not cover.
	NotAction []string `json:"NotAction,omitempty"`
	// Resource lists the ARNs the statement covers.
	Resource []string `json:"Resource,omitempty"`
	// NotResource lists the ARNs the statement does not cover.
	NotResource []string `json:"NotResource,omitempty"`
}

func bucketARN(bucket string) string { return "arn:aws:s3:::" + bucket }

func prefixARN(bucket, prefix string) string { return bucketARN(bucket) + "/" + prefix + "*" }

// WorkspacePolicyDocument returns the policy of a workspace user confined to bucket: list the
// bucket; read datasets/; read, write and delete under scratch/ and outputs/ (multipart uploads
// included). It denies every S3 action on any other bucket, every write under datasets/, and
// every admin action (so the user cannot change its own secret key or create
// service accounts for itself), so that no other policy could widen it by accident.
func WorkspacePolicyDocument(bucket string) (PolicyDocument, error) {
	if err := checkBucket(bucket); err != nil {
		return PolicyDocument{}, err
	}
	return PolicyDocument{
		Version: "2012-10-17",
		Statement: []PolicyStatement{{
			Sid:      "ListWorkspaceBucket",
			Effect:   "Allow",
			Action:   []string{"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
			Resource: []string{bucketARN(bucket)},
		}, {
			Sid:      "ReadDatasets",
			Effect:   "Allow",
			Action:   []string{"s3:GetObject"},
			Resource: []string{prefixARN(bucket, DatasetsPrefix)},
		}, {
			Sid:    "ReadWriteScratchAndOutputs",
			Effect: "Allow",
			Action: []string{
				"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
				"s3:ListMultipartUploadParts", "s3:PutObject",
			},
			Resource: []string{prefixARN(bucket, ScratchPrefix), prefixARN(bucket, OutputsPrefix)},
		}, {
			// Every action that changes an object or its retention, tags or versions. (MinIO
			// accepts NotAction but cannot read such a policy back, so the list is explicit.)
			Sid:    "DenyDatasetsWrites",
			Effect: "Deny",
			Action: []string{
				"s3:AbortMultipartUpload", "s3:BypassGovernanceRetention", "s3:Delete*",
				"s3:Put*", "s3:Replicate*", "s3:RestoreObject",
			},
			Resource: []string{prefixARN(bucket, DatasetsPrefix)},
		}, {
			Sid:         "DenyOtherBuckets",
			Effect:      "Deny",
			Action:      []string{"s3:*"},
			NotResource: []string{bucketARN(bucket), bucketARN(bucket) + "/*"},
		}, {
			Sid:    "DenyAdministration",
			Effect: "Deny",
			Action: []string{"admin:*"},
		}},
	}, nil
}

// WorkspacePolicy returns WorkspacePolicyDocument(bucket) as JSON, ready for EnsurePolicy.
func WorkspacePolicy(bucket string) ([]byte, error) {
	doc, err := WorkspacePolicyDocument(bucket)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding workspace policy: %w", err)
	}
	return b, nil
}

// canonicalPolicy returns a form of an IAM policy document in which two documents that mean the
// same compare equal: single strings and lists are the same, lists are sorted and deduplicated,
// statements are sorted and deduplicated, and empty fields are absent. The result is itself a
// policy document whose canonical form is itself. MinIO stores policies re-encoded, so the
// text it returns differs from the text it was given.
func canonicalPolicy(doc []byte) ([]byte, error) {
	var raw struct {
		Version   string           `json:"Version"`
		ID        string           `json:"Id,omitempty"`
		Statement []map[string]any `json:"Statement"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: policy is not a JSON policy document: %w", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: policy has data after the document", ErrInvalid)
	}
	stmts := make([]string, 0, len(raw.Statement))
	for _, st := range raw.Statement {
		norm := make(map[string]any, len(st))
		for k, v := range st {
			switch k {
			case "Action", "NotAction", "Resource", "NotResource":
				list, err := stringSet(v)
				if err != nil {
					return nil, fmt.Errorf("%w: policy statement field %s: %w", ErrInvalid, k, err)
				}
				if len(list) > 0 {
					norm[k] = list
				}
			case "Condition":
				cond, err := canonicalCondition(v)
				if err != nil {
					return nil, fmt.Errorf("%w: policy statement condition: %w", ErrInvalid, err)
				}
				if len(cond) > 0 {
					norm[k] = cond
				}
			case "Sid":
				if s, _ := v.(string); s != "" {
					norm[k] = s
				}
			default:
				norm[k] = v
			}
		}
		b, err := json.Marshal(norm)
		if err != nil {
			return nil, fmt.Errorf("encoding policy statement: %w", err)
		}
		stmts = append(stmts, string(b))
	}
	sort.Strings(stmts)
	stmts = slices.Compact(stmts)
	list := make([]json.RawMessage, len(stmts))
	for i, st := range stmts {
		list[i] = json.RawMessage(st)
	}
	out := map[string]any{"Version": raw.Version, "Statement": list}
	if raw.ID != "" {
		out["Id"] = raw.ID
	}
	return json.Marshal(out)
}

// stringSet reads a policy field that is a string or a list of strings as a sorted set.
func stringSet(v any) ([]string, error) {
	var list []string
	switch v := v.(type) {
	case nil:
	case string:
		list = []string{v}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list holds a %T, want strings", e)
			}
			list = append(list, s)
		}
	default:
		return nil, fmt.Errorf("is a %T, want a string or a list of strings", v)
	}
	sort.Strings(list)
	return slices.Compact(list), nil
}

// canonicalCondition reads a policy condition block, {operator: {key: value(s)}}, with every
// value list as a sorted set.
func canonicalCondition(v any) (map[string]map[string][]string, error) {
	ops, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("is a %T, want an object", v)
	}
	out := make(map[string]map[string][]string, len(ops))
	for op, keys := range ops {
		km, ok := keys.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("operator %s holds a %T, want an object", op, keys)
		}
		out[op] = make(map[string][]string, len(km))
		for k, vals := range km {
			var list []string
			switch vals := vals.(type) {
			case []any:
				for _, e := range vals {
					list = append(list, fmt.Sprint(e))
				}
			default:
				list = []string{fmt.Sprint(vals)}
			}
			sort.Strings(list)
			out[op][k] = slices.Compact(list)
		}
	}
	return out, nil
}
