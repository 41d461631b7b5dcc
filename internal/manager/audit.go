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

package manager

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/metrics"
)

// AuditOptions configure where the audit log lives.
type AuditOptions struct {
	// Bucket is the audit bucket, created with object lock.
	Bucket string
	// RetentionMode is compliance, governance or none.
	RetentionMode string
	// RetentionDays is how long sealed segments and checkpoints are locked.
	RetentionDays int
	// FlushInterval is how often the leader seals full segments and prunes covered tail objects.
	FlushInterval time.Duration
}

// auditLog opens the audit log on first use, which is on the elected leader since only the
// leader's controllers write. Until it opens, every append fails, so nothing that must be
// recorded happens.
type auditLog struct {
	client *minio.Client
	o      AuditOptions

	mu  sync.Mutex
	log *audit.Log
}

func (a *auditLog) open(ctx context.Context) (*audit.Log, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.log != nil {
		return a.log, nil
	}
	if err := audit.EnsureAuditBucket(ctx, a.client, a.o.Bucket, a.o.RetentionMode); err != nil {
		return nil, err
	}
	store, err := audit.NewObjectStore(a.client, a.o.Bucket, audit.ObjectStoreOptions{
		RetentionMode:   a.o.RetentionMode,
		RetentionPeriod: time.Duration(a.o.RetentionDays) * 24 * time.Hour,
	})
	if err != nil {
		return nil, err
	}
	l, err := audit.Open(ctx, store, audit.Options{})
	if err != nil {
		return nil, err
	}
	a.log = l
	return l, nil
}

// Append records an entry durably.
func (a *auditLog) Append(ctx context.Context, in audit.EntryInput) (audit.Entry, error) {
	start := time.Now()
	l, err := a.open(ctx)
	if err != nil {
		metrics.AuditAppendFailures.Inc()
		return audit.Entry{}, fmt.Errorf("the audit log is unavailable: %w", err)
	}
	e, err := l.Append(ctx, in)
	a.observe(start, err)
	return e, err
}

// Intend records that an action is about to happen, durably, before it does; Complete records its
// outcome. A crash between the two leaves an intention with no completion, never an action with
// no record.
func (a *auditLog) Intend(ctx context.Context, in audit.EntryInput) (audit.Entry, error) {
	l, err := a.open(ctx)
	if err != nil {
		metrics.AuditAppendFailures.Inc()
		return audit.Entry{}, fmt.Errorf("the audit log is unavailable: %w", err)
	}
	start := time.Now()
	e, err := l.Intend(ctx, in)
	a.observe(start, err)
	return e, err
}

// Complete records the outcome of an intended action.
func (a *auditLog) Complete(ctx context.Context, intent audit.Entry, out audit.Outcome) (audit.Entry, error) {
	l, err := a.open(ctx)
	if err != nil {
		metrics.AuditAppendFailures.Inc()
		return audit.Entry{}, fmt.Errorf("the audit log is unavailable: %w", err)
	}
	start := time.Now()
	e, err := l.Complete(ctx, intent, out)
	a.observe(start, err)
	return e, err
}

func (a *auditLog) observe(start time.Time, err error) {
	if err != nil {
		metrics.AuditAppendFailures.Inc()
		return
	}
	metrics.AuditAppendSeconds.Observe(time.Since(start).Seconds())
}

// Start seals full segments at intervals and once more at shutdown. It runs on the leader.
func (a *auditLog) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("audit")
	t := time.NewTicker(a.o.FlushInterval)
	defer t.Stop()
	flush := func(ctx context.Context) {
		a.mu.Lock()
		l := a.log
		a.mu.Unlock()
		if l == nil {
			return
		}
		if err := l.Flush(ctx); err != nil {
			log.Error(err, "Sealing audit segments")
			return
		}
		if _, err := l.Prune(ctx); err != nil {
			log.Error(err, "Pruning audit tail objects covered by sealed segments")
		}
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			flush(fctx)
			cancel()
			return nil
		case <-t.C:
			flush(ctx)
		}
	}
}

// NeedLeaderElection makes the flusher run only on the leader, the log's one writer.
func (a *auditLog) NeedLeaderElection() bool { return true }
