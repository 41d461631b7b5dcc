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

package load

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/kubernetes"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// stepTotal is the number of runs of one reconcile step and their total time.
type stepTotal struct {
	count   uint64
	seconds float64
}

// stepTotals reads the workspace controller's step duration histogram from the manager's metrics
// registry, by step, and the audit log's append durations.
func stepTotals(b *testing.B) map[string]stepTotal {
	b.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]stepTotal{}
	for _, f := range families {
		if f.GetName() == "fivesafes_audit_append_duration_seconds" {
			// Every audit append, of any controller, with its wait for the log's lock.
			for _, m := range f.GetMetric() {
				t := out["(audit appends, all controllers)"]
				t.count += m.GetHistogram().GetSampleCount()
				t.seconds += m.GetHistogram().GetSampleSum()
				out["(audit appends, all controllers)"] = t
			}
			continue
		}
		if f.GetName() != "fivesafes_reconcile_step_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "controller") != "Workspace" {
				continue
			}
			t := out[label(m, "step")]
			t.count += m.GetHistogram().GetSampleCount()
			t.seconds += m.GetHistogram().GetSampleSum()
			out[label(m, "step")] = t
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// clockTick is the kernel's unit of process CPU time in /proc: USER_HZ, 100 on every Linux
// architecture Go supports.
const clockTick = 100

// processCPU returns the CPU time used so far by this process and by each process it started (the
// API server, etcd, MinIO and Vault), by command name. It is empty where /proc is not available.
func processCPU() map[string]time.Duration {
	out := map[string]time.Duration{}
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// The command is in parentheses and may hold spaces; the fields after it are fixed.
		end := bytes.LastIndexByte(raw, ')')
		start := bytes.IndexByte(raw, '(')
		if start < 0 || end < start {
			continue
		}
		fields := strings.Fields(string(raw[end+1:]))
		if len(fields) < 13 {
			continue
		}
		pid, ppid := filepath.Base(d), fields[1]
		if pid != self && ppid != self {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		name := string(raw[start+1 : end])
		if pid == self {
			name = "test process (manager and clients)"
		}
		out[name] += time.Duration(utime+stime) * time.Second / clockTick
	}
	return out
}

// apiRequests returns the number of requests the API server has served so far, by verb and
// resource (and subresource), from its apiserver_request_total counter; empty if the API server's
// metrics cannot be read.
func apiRequests(b *testing.B) map[string]float64 {
	b.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Logf("reading the API server's metrics: %v", err)
		return nil
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = strings.Trim(v, `"`)
		}
		key := l["verb"] + " " + l["resource"]
		if l["subresource"] != "" {
			key += "/" + l["subresource"]
		}
		out[key] += n
	}
	return out
}

// profileAPIServer, when FIVESAFES_LOAD_APISERVER_PROFILE names a file, starts taking a CPU
// profile of the API server for the given time and writes it there: the API server is the largest
// user of CPU in these runs. Read it with `go tool pprof <kube-apiserver binary> <file>`.
func profileAPIServer(b *testing.B, d time.Duration) {
	b.Helper()
	file := os.Getenv("FIVESAFES_LOAD_APISERVER_PROFILE")
	if file == "" {
		return
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		raw, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(context.Background())
		if err == nil {
			err = os.WriteFile(file, raw, 0o600)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "profiling the API server: %v\n", err)
		}
	}()
}

// reportBreakdown logs, per workspace made, the mean time of each workspace reconcile step, the
// CPU time each process used and the requests the API server served since the run began.
func reportBreakdown(b *testing.B, workspaces int, before map[string]stepTotal, cpuBefore map[string]time.Duration, reqBefore map[string]float64) {
	b.Helper()
	var buf strings.Builder
	w := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "step\truns per workspace\tmean ms\tms per workspace\t\n")
	after := stepTotals(b)
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c, s := after[n].count-before[n].count, after[n].seconds-before[n].seconds
		if c == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\t%.2f\t%.1f\t%.1f\t\n", n, float64(c)/float64(workspaces), 1000*s/float64(c), 1000*s/float64(workspaces))
	}
	fmt.Fprintf(w, "\t\t\t\t\nprocess\t\t\tCPU ms per workspace\t\n")
	cpu := processCPU()
	procs := make([]string, 0, len(cpu))
	for p := range cpu {
		procs = append(procs, p)
	}
	slices.Sort(procs)
	for _, p := range procs {
		fmt.Fprintf(w, "%s\t\t\t%.1f\t\n", p, float64((cpu[p]-cpuBefore[p]).Milliseconds())/float64(workspaces))
	}
	fmt.Fprintf(w, "\t\t\t\t\nAPI requests (operator, clients and floor)\t\t\tper workspace\t\n")
	reqs := apiRequests(b)
	keys := make([]string, 0, len(reqs))
	total := 0.0
	for k := range reqs {
		if d := reqs[k] - reqBefore[k]; d > 0 {
			keys = append(keys, k)
			total += d
		}
	}
	slices.SortFunc(keys, func(x, y string) int {
		if c := cmp.Compare(reqs[y]-reqBefore[y], reqs[x]-reqBefore[x]); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	for _, k := range keys {
		fmt.Fprintf(w, "%s\t\t\t%.2f\t\n", k, (reqs[k]-reqBefore[k])/float64(workspaces))
	}
	fmt.Fprintf(w, "(all)\t\t\t%.2f\t\n", total/float64(workspaces))
	_ = w.Flush()
	b.Logf("workspaces made: %d\n%s", workspaces, buf.String())
}
