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

// Package keys confines a workspace to its agreement's Vault transit key: an ACL policy naming
// that one key, and tokens that hold nothing but that policy. The key itself is created,
// wrapped and deleted by package pseudonym.
//
// # What a workspace token may do
//
// WorkspacePolicy grants the update capability on exactly three paths of the transit mount:
//
//   - <mount>/hmac/<key> and <mount>/hmac/<key>/* — compute pseudonyms with the key (strict
//     mode), at any of its versions and with the algorithm in the path or the body;
//   - <mount>/decrypt/<key> — unwrap the agreement's wrapped data key (envelope mode). The key
//     encrypts nothing else, so decryption can reveal nothing else.
//
// Nothing more: no read of the key's description, no rotation, configuration, deletion, export
// or backup, no new data keys (the operator makes the one wrapped data key), no encryption, no
// other key, nothing under sys/ or auth/ (not even looking itself up, since tokens are issued
// without Vault's default policy) and no cubbyhole.
//
// Whoever holds such a token can compute the pseudonym of any identifier they know, so the token
// belongs to the extraction of that agreement's datasets and must never reach the researchers
// or the workspace namespace: a pseudonym lookup by NHS number would re-identify records.
//
// # Tokens
//
// IssueToken makes service tokens (they have accessors, so they can be looked up and revoked
// without being held) that are orphans (they outlive the manager's own token, which may be short
// lived and rotated), not renewable and with an explicit maximum TTL equal to the TTL, so
// nothing can extend them: the holder gets a fresh token from the controller when one nears
// expiry (see LookupToken). Periodic tokens were rejected because a leaked one lives for as long
// as anyone keeps renewing it. Tokens carry no default policy.
//
// A crash between issuing a token and recording its accessor leaves a token nobody knows about;
// it expires with its TTL, and DeletePolicy at teardown strips every token ever issued for the
// workspace of all rights at once, whether or not its accessor was recorded.
//
// # Errors
//
// Errors name policies and operations but never carry a token; a Token prints its accessor
// only.
package keys
