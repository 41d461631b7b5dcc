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
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
	"github.com/fivesafes/fivesafes/internal/metrics"
	"github.com/fivesafes/fivesafes/internal/policy"
)

// policySource keeps the policy engine in step with the built-in policies and, when one is
// named, a ConfigMap of overrides. Each key of the ConfigMap ending in .rego is a module: a key
// equal to a built-in module's path with "/" written as "." (agreement.agreement.rego) replaces
// it, any other key adds a module. A ConfigMap whose modules do not compile makes evaluation
// fail, and so fails closed, until it is fixed.
type policySource struct {
	reader client.Reader
	key    types.NamespacedName
	engine *policy.Engine
	params agreement.Params

	mu     sync.Mutex
	loaded string // the ConfigMap's resourceVersion, or "" for the built-in bundle
}

func newPolicySource(ctx context.Context, reader client.Reader, key types.NamespacedName, params agreement.Params) (*policySource, error) {
	eng, err := policy.NewDefaultEngine(ctx, agreement.PolicyQuery)
	if err != nil {
		return nil, fmt.Errorf("loading the built-in policies: %w", err)
	}
	eng.Observe(metrics.ObservePolicy)
	return &policySource{reader: reader, key: key, engine: eng, params: params}, nil
}

// current returns the engine loaded with the policy revision now in force.
func (p *policySource) current(ctx context.Context) (*policy.Engine, error) {
	if p.key.Name == "" {
		return p.engine, nil
	}
	cm := &corev1.ConfigMap{}
	err := p.reader.Get(ctx, p.key, cm)
	if apierrors.IsNotFound(err) {
		cm = nil
	} else if err != nil {
		return nil, fmt.Errorf("reading policy ConfigMap %s: %w", p.key, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rv := ""
	if cm != nil {
		rv = cm.ResourceVersion
	}
	if rv == p.loaded {
		return p.engine, nil
	}
	b, err := overriddenBundle(cm)
	if err != nil {
		return nil, err
	}
	if err := p.engine.Load(ctx, b); err != nil {
		return nil, fmt.Errorf("loading policies from ConfigMap %s: %w", p.key, err)
	}
	p.loaded = rv
	return p.engine, nil
}

// overriddenBundle is the built-in bundle with the ConfigMap's modules laid over it.
func overriddenBundle(cm *corev1.ConfigMap) (policy.Bundle, error) {
	base, err := policy.DefaultBundle()
	if err != nil || cm == nil {
		return base, err
	}
	sources := map[string]string{}
	byKey := map[string]string{}
	for _, name := range base.Names() {
		src, _ := base.Source(name)
		sources[name] = src
		byKey[strings.ReplaceAll(name, "/", ".")] = name
	}
	for k, src := range cm.Data {
		if !strings.HasSuffix(k, ".rego") {
			continue
		}
		if name, ok := byKey[k]; ok {
			sources[name] = src
		} else {
			sources["override/"+k] = src
		}
	}
	b, err := policy.NewBundle(sources)
	if err != nil {
		return b, fmt.Errorf("building policy bundle from ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return b, nil
}

// ValidateAgreement implements the controllers' and webhooks' AgreementValidator.
func (p *policySource) ValidateAgreement(ctx context.Context, daa *fivesafesv1alpha1.DataAccessAgreement, catalogue map[string]fivesafesv1alpha1.DatasetSpec) ([]fivesafesv1alpha1.Finding, fivesafesv1alpha1.Digest, error) {
	eng, err := p.current(ctx)
	if err != nil {
		return nil, "", err
	}
	ev, err := agreement.Evaluate(ctx, eng, daa, agreement.Catalogue(catalogue), agreement.WithParams(p.params))
	if err != nil {
		return nil, "", err
	}
	return ev.Findings, ev.PolicyDigest, nil
}
