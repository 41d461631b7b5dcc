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

// Package metrics defines the Prometheus metrics Fivesafes exposes on the manager's /metrics
// endpoint, beside controller-runtime's own. Counts of objects by phase or condition are
// computed when Prometheus scrapes, from the manager's cache, so they are never stale.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

var (
	// AuditAppendSeconds is the latency of durable audit appends.
	AuditAppendSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "fivesafes_audit_append_duration_seconds",
		Help:    "Time to append an entry to the audit log durably.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	// AuditAppendFailures counts appends that failed, so that the action they recorded did not happen.
	AuditAppendFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "fivesafes_audit_append_failures_total",
		Help: "Audit appends that failed; the actions they would have recorded did not happen.",
	})
	// ExtractRows counts rows handled by dataset extracts, by dataset and outcome.
	ExtractRows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fivesafes_extract_rows_total",
		Help: "Rows handled by dataset extracts, by dataset and outcome (read, written, opted_out, invalid_identifier, malformed).",
	}, []string{"dataset", "outcome"})
	// ExtractSeconds is the duration of dataset copies, by dataset and result.
	ExtractSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "fivesafes_extract_duration_seconds",
		Help:    "Time to make one dataset copy, by dataset and result (succeeded, failed).",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	}, []string{"dataset", "result"})
	// OutputChecks counts output requests checked, by overall outcome.
	OutputChecks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fivesafes_output_checks_total",
		Help: "Output requests checked automatically, by overall outcome (pass, review, fail).",
	}, []string{"outcome"})
	// OutputFindings counts the findings of output checks, by policy rule.
	OutputFindings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fivesafes_output_findings_total",
		Help: "Findings of the automatic output checks, by the rule that raised them.",
	}, []string{"rule"})
	// OutputReviews counts output reviews judged, by decision and whether they counted.
	OutputReviews = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fivesafes_output_reviews_total",
		Help: "Output reviews judged, by decision (Approve, RequestChanges, Reject) and whether they counted.",
	}, []string{"decision", "counted"})
	// OutputReleases counts release attempts, by result.
	OutputReleases = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fivesafes_output_releases_total",
		Help: "Output releases, by result (released, failed).",
	}, []string{"result"})
	// DownloadURLs counts download URLs issued for released outputs.
	DownloadURLs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "fivesafes_output_download_urls_total",
		Help: "Download URLs issued to requesters for released outputs, each recorded in the audit log.",
	})
	// WorkspaceReadySeconds is the time from a workspace's creation, when its agreement became
	// active, to its first Ready.
	WorkspaceReadySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "fivesafes_workspace_ready_duration_seconds",
		Help:    "Time from a workspace's creation (its agreement becoming active) to its first Ready.",
		Buckets: prometheus.ExponentialBuckets(0.025, 2, 14),
	})
	// PolicySeconds is the duration of policy evaluations, by query and result.
	PolicySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "fivesafes_policy_evaluation_duration_seconds",
		Help:    "Time to evaluate one policy query (an output request's egress decision, an agreement's governance checks), by query and result (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.000125, 2, 14),
	}, []string{"query", "result"})
	// StepSeconds is the duration of each step of a reconcile, by controller, step and result, so
	// that slow provisioning can be traced to the component behind it.
	StepSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "fivesafes_reconcile_step_duration_seconds",
		Help:    "Time taken by one step of a reconcile, by controller, step and result (ok, error).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"controller", "step", "result"})
)

// Register adds every Fivesafes metric to controller-runtime's registry, with collectors that
// count agreements by phase and workspaces by condition from reader (the manager's cache).
func Register(reader client.Reader) {
	crmetrics.Registry.MustRegister(AuditAppendSeconds, AuditAppendFailures, ExtractRows, ExtractSeconds,
		OutputChecks, OutputFindings, OutputReviews, OutputReleases, DownloadURLs, PolicySeconds, StepSeconds, WorkspaceReadySeconds,
		&objectCollector{reader: reader})
}

// ObserveCheck records the automatic checks of one output request.
func ObserveCheck(outcome fivesafesv1alpha1.CheckOutcome, files []fivesafesv1alpha1.FileCheck) {
	OutputChecks.WithLabelValues(string(outcome)).Inc()
	for _, f := range files {
		for _, fd := range f.Findings {
			OutputFindings.WithLabelValues(fd.Rule).Inc()
		}
	}
}

// ObservePolicy records one policy evaluation; it is a policy.Observer.
func ObservePolicy(query string, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	PolicySeconds.WithLabelValues(query, result).Observe(took.Seconds())
}

// ObserveExtract records one dataset copy.
func ObserveExtract(dataset string, rows fivesafesv1alpha1.RowCounts, took time.Duration, err error) {
	result := "succeeded"
	if err != nil {
		result = "failed"
	}
	ExtractSeconds.WithLabelValues(dataset, result).Observe(took.Seconds())
	if err != nil {
		return
	}
	for outcome, n := range map[string]int64{
		"read": rows.Read, "written": rows.Written, "opted_out": rows.OptedOut,
		"invalid_identifier": rows.InvalidIdentifier, "malformed": rows.Malformed,
	} {
		ExtractRows.WithLabelValues(dataset, outcome).Add(float64(n))
	}
}

var (
	agreementsDesc = prometheus.NewDesc("fivesafes_agreements", "Data access agreements by phase.", []string{"phase"}, nil)
	workspacesDesc = prometheus.NewDesc("fivesafes_workspaces", "Workspaces by condition and status.", []string{"condition", "status"}, nil)
	requestsDesc   = prometheus.NewDesc("fivesafes_output_requests", "Output requests by phase.", []string{"phase"}, nil)
	expiringDesc   = prometheus.NewDesc("fivesafes_agreement_validity_end_timestamp_seconds",
		"When each active agreement's validity ends, for alerts on agreements expiring soon.", []string{"agreement", "reference"}, nil)
)

// objectCollector counts objects at scrape time.
type objectCollector struct {
	reader client.Reader
}

func (c *objectCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- agreementsDesc
	ch <- workspacesDesc
	ch <- expiringDesc
	ch <- requestsDesc
}

func (c *objectCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var daas fivesafesv1alpha1.DataAccessAgreementList
	if err := c.reader.List(ctx, &daas); err == nil {
		phases := map[fivesafesv1alpha1.AgreementPhase]float64{}
		for _, p := range []fivesafesv1alpha1.AgreementPhase{
			fivesafesv1alpha1.AgreementPending, fivesafesv1alpha1.AgreementApproved, fivesafesv1alpha1.AgreementActive,
			fivesafesv1alpha1.AgreementExpired, fivesafesv1alpha1.AgreementRevoked, fivesafesv1alpha1.AgreementRejected,
		} {
			phases[p] = 0
		}
		for _, a := range daas.Items {
			phases[a.Status.Phase]++
			if a.Status.Phase == fivesafesv1alpha1.AgreementActive {
				if end, err := time.Parse(time.DateOnly, a.Spec.Validity.End); err == nil {
					ch <- prometheus.MustNewConstMetric(expiringDesc, prometheus.GaugeValue, float64(end.AddDate(0, 0, 1).Unix()), a.Name, a.Spec.Reference)
				}
			}
		}
		for p, n := range phases {
			if p != "" {
				ch <- prometheus.MustNewConstMetric(agreementsDesc, prometheus.GaugeValue, n, string(p))
			}
		}
	}
	var wss fivesafesv1alpha1.WorkspaceList
	if err := c.reader.List(ctx, &wss); err == nil {
		counts := map[[2]string]float64{}
		for _, t := range []string{fivesafesv1alpha1.ConditionReady, fivesafesv1alpha1.WorkspaceNamespaceReady, fivesafesv1alpha1.WorkspaceNetworkIsolated, fivesafesv1alpha1.WorkspaceStorageReady, fivesafesv1alpha1.WorkspaceKeyReady} {
			for _, s := range []string{"True", "False", "Unknown"} {
				counts[[2]string{t, s}] = 0
			}
		}
		for _, w := range wss.Items {
			for k := range counts {
				if c := meta.FindStatusCondition(w.Status.Conditions, k[0]); c != nil && string(c.Status) == k[1] {
					counts[k]++
				} else if c == nil && k[1] == "Unknown" {
					counts[k]++
				}
			}
		}
		for k, n := range counts {
			ch <- prometheus.MustNewConstMetric(workspacesDesc, prometheus.GaugeValue, n, k[0], k[1])
		}
	}
	var ors fivesafesv1alpha1.OutputRequestList
	if err := c.reader.List(ctx, &ors); err == nil {
		phases := map[string]float64{}
		for _, p := range []fivesafesv1alpha1.OutputPhase{
			fivesafesv1alpha1.OutputChecking, fivesafesv1alpha1.OutputAwaitingReview, fivesafesv1alpha1.OutputChangesRequested,
			fivesafesv1alpha1.OutputApproved, fivesafesv1alpha1.OutputRejected, fivesafesv1alpha1.OutputReleased, fivesafesv1alpha1.OutputWithdrawn,
		} {
			phases[string(p)] = 0
		}
		for _, o := range ors.Items {
			if o.Status.Phase != "" {
				phases[string(o.Status.Phase)]++
			}
		}
		for p, n := range phases {
			ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.GaugeValue, n, p)
		}
	}
}
