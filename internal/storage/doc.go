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

// Package storage administers the object store (MinIO) for workspaces and releases: buckets
// with versioning and object lock, users confined to one workspace bucket by an IAM policy, and
// the object operations the controllers need (server-side copies, streamed sha256 digests,
// presigned downloads and retained writes for the audit log).
//
// Every Ensure and Remove call is idempotent and safe to repeat after a crash at any point:
// creating what exists succeeds, deleting what is gone succeeds, and a call that finds the
// world already as asked writes nothing. Calls fail closed: an existing bucket without the
// object lock asked for, a user in groups whose policies would widen its access, or an object
// version under retention are errors, never silently accepted. Errors name buckets, objects,
// users and policies but never carry a secret key or a presigned URL.
//
// # Workspace confinement
//
// A workspace user holds exactly one policy, WorkspacePolicy(bucket): it may list the bucket,
// read datasets/, and read, write and delete under scratch/ and outputs/. Explicit denials
// back this up should another policy ever be attached: every S3 action on any other bucket,
// every write under datasets/, and every admin action — so the user can neither
// change its own secret key nor mint service accounts that would survive a rotation of its
// secret key (MinIO otherwise lets users do both for themselves).
package storage
