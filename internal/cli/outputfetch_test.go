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
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// A failed fetch says what failed without the signed URL, which is a credential while it lasts.
func TestFetchErrorHidesURL(t *testing.T) {
	const link = "http://127.0.0.1:1/egress/staging/x.csv?X-Amz-Signature=deadbeefcafe"
	_, err := fetchTo(t.Context(), http.DefaultClient, link, filepath.Join(t.TempDir(), "x.csv"))
	if err == nil {
		t.Fatal("a fetch from a closed port succeeded")
	}
	if strings.Contains(err.Error(), "deadbeefcafe") || strings.Contains(err.Error(), "X-Amz") {
		t.Fatalf("the error shows the signed URL: %v", err)
	}
}
