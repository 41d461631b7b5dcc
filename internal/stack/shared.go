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

package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// server is what Shared starts: MinIO or Vault.
type server interface {
	StopIfRunning() error
}

// Shared is a server that a test binary's tests share: started by the first test that asks for
// it, so pure tests and fuzz workers never start one, and stopped by Close from TestMain. Packages
// that internal/testenv cannot serve (it imports the manager, which imports them) use it.
type Shared[T server] struct {
	name  string
	start func(ctx context.Context, dir string) (T, error)

	once sync.Once
	v    T
	err  error
	dir  string
}

// SharedMinIO is a MinIO server on a temporary drive.
func SharedMinIO() *Shared[*MinIO] {
	return &Shared[*MinIO]{name: "minio", start: StartMinIOIn}
}

// SharedVault is a Vault dev server with the transit engine mounted at transit/.
func SharedVault() *Shared[*Vault] {
	return &Shared[*Vault]{name: "vault", start: func(ctx context.Context, dir string) (*Vault, error) {
		v, err := StartVault(ctx, VaultOptions{LogPath: filepath.Join(dir, "vault.log")})
		if err != nil {
			return nil, err
		}
		if err := EnableTransit(ctx, v); err != nil {
			_ = v.StopIfRunning()
			return nil, err
		}
		return v, nil
	}}
}

// Get returns the server, starting it on first use.
func (s *Shared[T]) Get() (T, error) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if s.dir, s.err = os.MkdirTemp("", "fivesafes-"+s.name+"-"); s.err != nil {
			return
		}
		s.v, s.err = s.start(ctx, s.dir)
		if s.err != nil {
			s.err = fmt.Errorf("starting %s: %w", s.name, s.err)
		}
	})
	return s.v, s.err
}

// Close stops the server, if it was started, and removes its state.
func (s *Shared[T]) Close() {
	if s.err == nil && s.dir != "" {
		_ = s.v.StopIfRunning()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}
