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

package controllers

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/fivesafes/fivesafes/internal/metrics"
)

func TestStepName(t *testing.T) {
	for fn, want := range map[string][2]string{
		"github.com/fivesafes/fivesafes/controllers.(*WorkspaceReconciler).reconcileStorage-fm": {"Workspace", "reconcileStorage"},
		"github.com/fivesafes/fivesafes/controllers.(*OutputRequestReconciler).check-fm":        {"OutputRequest", "check"},
		"github.com/fivesafes/fivesafes/controllers.TestStepName.func1":                         {"", "controllers.TestStepName.func1"},
	} {
		if got := stepName(fn); got != want {
			t.Errorf("stepName(%q) = %q, want %q", fn, got, want)
		}
	}
}

type stepProbe struct{ ran []string }

func (p *stepProbe) first(context.Context, *stepProbe) (ctrl.Result, error) {
	p.ran = append(p.ran, "first")
	return ctrl.Result{}, nil
}

func (p *stepProbe) failing(context.Context, *stepProbe) (ctrl.Result, error) {
	p.ran = append(p.ran, "failing")
	return ctrl.Result{}, errors.New("refused")
}

func stepSamples(t *testing.T, labels ...string) uint64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.StepSeconds.WithLabelValues(labels...).(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

func TestRunStepsObservesEachStep(t *testing.T) {
	p := &stepProbe{}
	okBefore, failedBefore := stepSamples(t, "stepProbe", "first", "ok"), stepSamples(t, "stepProbe", "failing", "error")
	_, _, err := runSteps(context.Background(), p, []step[*stepProbe]{p.first, p.failing, p.first}, nil)
	if err == nil || len(p.ran) != 2 {
		t.Fatalf("runSteps ran %v and returned %v; want the failing step to stop the loop", p.ran, err)
	}
	if n := stepSamples(t, "stepProbe", "first", "ok") - okBefore; n != 1 {
		t.Errorf("the first step was observed %d times, want 1", n)
	}
	if n := stepSamples(t, "stepProbe", "failing", "error") - failedBefore; n != 1 {
		t.Errorf("the failing step was observed %d times as an error, want 1", n)
	}
}
