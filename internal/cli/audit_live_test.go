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

package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fivesafes/fivesafes/internal/audit"
)

// The audit commands read the live log in object storage when no --from is given, and find a
// tampered entry there.
func TestAuditLiveBucket(t *testing.T) {
	ctx := context.Background()
	mc, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	// The test forges an entry in the bucket: each run has a bucket of its own.
	bucket := fmt.Sprintf("fivesafes-audit-live-%d", time.Now().UnixNano())
	if err := audit.EnsureAuditBucket(ctx, mc, bucket, audit.RetentionNone); err != nil {
		t.Fatal(err)
	}
	store, err := audit.NewObjectStore(mc, bucket, audit.ObjectStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(ctx, store, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		if _, err := log.Append(ctx, audit.EntryInput{
			Actor: "controller:test", Action: audit.ActionPhaseChange,
			Object: audit.ObjectRef{Kind: "DataAccessAgreement", Name: name}, Decision: "Active",
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FIVESAFES_STORAGE_ACCESS_KEY", env.MinIO.RootUser)
	t.Setenv("FIVESAFES_STORAGE_SECRET_KEY", env.MinIO.RootPassword)
	live := []string{"--storage-endpoint", env.MinIO.Endpoint, "--audit-bucket", bucket}

	out, _ := mustExec(t, ExitOK, append([]string{"audit", "verify"}, live...)...)
	if !strings.Contains(out, "4") {
		t.Fatalf("verify of the live log said %q", out)
	}
	out, _ = mustExec(t, ExitOK, append([]string{"audit", "log", "--agreement", "c"}, live...)...)
	if !strings.Contains(out, "phase.change") {
		t.Fatalf("audit log --agreement c said %q", out)
	}

	// Someone with write access overwrites entry 3 without the conditional write.
	forged := []byte(`{"action":"phase.change","actor":"controller:test","decision":"Rejected","object":{"kind":"DataAccessAgreement","name":"c"},"prev":"sha256:0","seq":3,"stage":"recorded","time":"2026-01-01T00:00:00.000000000Z","hash":"sha256:0"}` + "\n")
	if _, err := mc.PutObject(ctx, bucket, audit.TailName(3), bytes.NewReader(forged), int64(len(forged)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _ = mustExec(t, ExitFindings, append([]string{"audit", "verify"}, live...)...)
	if !strings.Contains(out, "3") {
		t.Fatalf("verify of the tampered live log did not name entry 3: %q", out)
	}
}
