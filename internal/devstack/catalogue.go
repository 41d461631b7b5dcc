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

package devstack

import (
	"bytes"
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/fivesafes/fivesafes/internal/synth"
	"github.com/fivesafes/fivesafes/internal/testenv"
)

// CatalogueBucket is the bucket the sample Datasets and OptOutList point at.
const CatalogueBucket = "fivesafes-catalogue"

// sampleData is the synthetic data behind the samples: one population, so people link across
// the datasets and some of them have opted out.
var sampleData = []struct {
	key     string
	options synth.Options
}{
	{"hes-apc/part-0001.csv", synth.Options{Dataset: synth.HESAPC, Rows: 20000, Seed: 38002, Population: 8000}},
	{"asc-cld/part-0001.csv", synth.Options{Dataset: synth.ASCCLD, Rows: 6000, Seed: 38002, Population: 8000}},
	{"opt-outs/2026-11-01.csv", synth.Options{Dataset: synth.OptOuts, Rows: synth.OptedOutBelow(38002, 8000), Seed: 38002, Population: 8000}},
}

// SeedCatalogue writes the synthetic sample data into the catalogue bucket unless it is there.
func SeedCatalogue(ctx context.Context, env *testenv.Env) error {
	mc, err := env.MinIOClient()
	if err != nil {
		return err
	}
	exists, err := mc.BucketExists(ctx, CatalogueBucket)
	if err != nil {
		return fmt.Errorf("checking catalogue bucket: %w", err)
	}
	if !exists {
		if err := mc.MakeBucket(ctx, CatalogueBucket, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("making catalogue bucket: %w", err)
		}
	}
	for _, d := range sampleData {
		if _, err := mc.StatObject(ctx, CatalogueBucket, d.key, minio.StatObjectOptions{}); err == nil {
			continue
		}
		var buf bytes.Buffer
		if err := synth.Generate(ctx, &buf, d.options); err != nil {
			return fmt.Errorf("generating %s: %w", d.key, err)
		}
		if _, err := mc.PutObject(ctx, CatalogueBucket, d.key, &buf, int64(buf.Len()), minio.PutObjectOptions{ContentType: "text/csv"}); err != nil {
			return fmt.Errorf("uploading %s: %w", d.key, err)
		}
	}
	return nil
}
