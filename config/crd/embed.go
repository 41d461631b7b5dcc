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

// Package crd embeds the generated CustomResourceDefinitions so that Go code, such as the offline
// agreement validator, can read the very schemas the API server enforces.
package crd

import (
	"embed"
	"fmt"
)

// Bases holds the generated CRD manifests, one per kind, at bases/<group>_<plural>.yaml.
//
//go:embed bases/*.yaml
var Bases embed.FS

// Group is the API group every Fivesafes CRD belongs to.
const Group = "fivesafes.io"

// Read returns the generated CRD manifest for the resource with the given plural name, e.g.
// "dataaccessagreements".
func Read(plural string) ([]byte, error) {
	b, err := Bases.ReadFile("bases/" + Group + "_" + plural + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("reading the CRD for %s.%s: %w", plural, Group, err)
	}
	return b, nil
}
