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
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/minio/madmin-go/v3"
	"github.com/secure-io/sio-go"
)

// The admin API wants the body of a request that carries a secret, such as a new user's secret
// key, encrypted with a key derived from the administrator's secret key. madmin-go derives it with
// Argon2id over 64 MiB, under a process-wide lock, and MinIO does the same again to decrypt: about
// 35 ms of both cores on each side, one request at a time, which made creating a workspace's user
// most of the cost of provisioning it. MinIO also accepts the format its FIPS builds write:
// PBKDF2-SHA256 with 8192 rounds, then AES-256-GCM in sio's streaming format. That is what this
// client sends. The payload travels inside TLS in production; the encryption is defence in depth
// and keeps its strength while the administrator's secret key is a generated one.
const (
	sealSaltSize   = 32
	sealPBKDF2ID   = 0x02
	sealPBKDF2Cost = 8192
)

// sealAdminPayload encrypts data for the admin API under password: salt, algorithm ID, nonce,
// then the sealed data.
func sealAdminPayload(password string, data []byte) ([]byte, error) {
	salt := make([]byte, sealSaltSize)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails.
	key, err := pbkdf2.Key(sha256.New, password, salt, sealPBKDF2Cost, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the admin payload key: %w", err)
	}
	stream, err := sio.AES_256_GCM.Stream(key)
	if err != nil {
		return nil, fmt.Errorf("sealing the admin payload: %w", err)
	}
	nonce := make([]byte, stream.NonceSize())
	_, _ = rand.Read(nonce)
	var out bytes.Buffer
	out.Grow(len(salt) + 1 + len(nonce) + len(data) + int(stream.Overhead(int64(len(data)))))
	out.Write(salt)
	out.WriteByte(sealPBKDF2ID)
	out.Write(nonce)
	w := stream.EncryptWriter(&out, nonce, nil)
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("sealing the admin payload: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("sealing the admin payload: %w", err)
	}
	return out.Bytes(), nil
}

// setUser creates the user accessKey or replaces its secret key and status, as madmin's SetUser
// does, with the payload sealed by sealAdminPayload.
func (c *Client) setUser(ctx context.Context, accessKey, secretKey string, status madmin.AccountStatus) error {
	body, err := json.Marshal(madmin.AddOrUpdateUserReq{SecretKey: secretKey, Status: status})
	if err != nil {
		return err
	}
	sealed, err := sealAdminPayload(c.o.SecretKey, body)
	if err != nil {
		return err
	}
	resp, err := c.admin.ExecuteMethod(ctx, http.MethodPut, madmin.RequestData{
		RelPath:     "/v3/add-user",
		QueryValues: url.Values{"accessKey": []string{accessKey}},
		Content:     sealed,
	})
	return adminAnswer(resp, err)
}

// setOnlyPolicy maps the user to exactly the one policy in a single request that carries no secret
// and so needs no sealing: MinIO's set-user-or-group-policy. madmin marks it deprecated in favour of
// attach and detach, which seal both the request and the answer (four Argon2id derivations).
// When the store no longer offers it, the caller attaches and detaches instead.
func (c *Client) setOnlyPolicy(ctx context.Context, user, policy string) error {
	resp, err := c.admin.ExecuteMethod(ctx, http.MethodPut, madmin.RequestData{
		RelPath:     "/v3/set-user-or-group-policy",
		QueryValues: url.Values{"policyName": []string{policy}, "userOrGroup": []string{user}, "isGroup": []string{"false"}},
	})
	return adminAnswer(resp, err)
}

// adminAnswer turns an admin API response into nil or a madmin.ErrorResponse, closing its body.
func adminAnswer(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 100<<10))
	var er madmin.ErrorResponse
	if json.Unmarshal(raw, &er) != nil || er.Code == "" {
		if xml.Unmarshal(raw, &er) != nil || er.Code == "" {
			er = madmin.ErrorResponse{Code: resp.Status, Message: fmt.Sprintf("unexpected answer from the admin API: %.200q", raw)}
		}
	}
	return er
}
