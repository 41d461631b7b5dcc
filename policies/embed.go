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

// Package policies embeds the platform's Rego policies: agreement/ (governance of data access
// agreements), egress/ (output checking) and any other policy directory one level below this one.
// Each directory holds policy modules and their *_test.rego unit tests; the policy engine
// (internal/policy) loads the modules and leaves the tests out.
package policies

import "embed"

// FS holds every Rego file one directory below this package, tests included.
//
//go:embed */*.rego
var FS embed.FS
