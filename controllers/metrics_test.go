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

package controllers_test

import (
	"testing"

	"github.com/fivesafes/fivesafes/internal/testname"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// gather returns the metric families on the manager's /metrics endpoint, by name.
func gather(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range families {
		out[f.GetName()] = f
	}
	return out
}

// The manager exposes agreements by phase, workspaces by condition, expiry times and audit
// append latency.
func TestMetrics(t *testing.T) {
	activeAgreement(t, testname.Fresh(t, "metrics"))
	got := gather(t)
	active := 0.0
	for _, m := range got["fivesafes_agreements"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "phase" && l.GetValue() == "Active" {
				active = m.GetGauge().GetValue()
			}
		}
	}
	if active < 1 {
		t.Errorf("fivesafes_agreements{phase=Active} = %v", active)
	}
	ready := 0.0
	for _, m := range got["fivesafes_workspaces"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["condition"] == "Ready" && labels["status"] == "True" {
			ready = m.GetGauge().GetValue()
		}
	}
	if ready < 1 {
		t.Errorf("fivesafes_workspaces{condition=Ready,status=True} = %v", ready)
	}
	if len(got["fivesafes_agreement_validity_end_timestamp_seconds"].GetMetric()) == 0 {
		t.Error("no validity end times are exposed")
	}
	if h := got["fivesafes_audit_append_duration_seconds"]; h == nil || h.GetMetric()[0].GetHistogram().GetSampleCount() == 0 {
		t.Error("no audit appends were measured")
	}
	if _, ok := got["fivesafes_audit_append_failures_total"]; !ok {
		t.Error("audit append failures are not exposed")
	}
}

// metricCount sums the values of the samples of a counter or gauge whose labels include labels.
func metricCount(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	total := 0.0
	for _, m := range gather(t)[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range labels {
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		if c := m.GetCounter(); c != nil {
			total += c.GetValue()
		} else {
			total += m.GetGauge().GetValue()
		}
	}
	return total
}
