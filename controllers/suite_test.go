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
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/fivesafes/fivesafes/internal/testenv"
)

var (
	env *testenv.Env
	// clock is the manager's clock; tests move it instead of sleeping.
	clock = clocktesting.NewFakePassiveClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
)

func TestMain(m *testing.M) {
	testenv.MainWith(m, testenv.Options{Webhooks: true, UserRoles: true, ControllerManager: true, MinIO: true, Vault: true}, &env,
		func(ctx context.Context, e *testenv.Env) error {
			o := e.ManagerOptions()
			o.Clock = clock
			// The extract and output tests drive those reconcilers themselves, with a harness audit log.
			o.WithoutExtractor = true
			o.WithoutOutputs = true
			return e.StartManager(ctx, o)
		})
}
