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

// Package stack starts the real components Fivesafes runs against — kube-controller-manager,
// MinIO and Vault — as child processes on loopback, for the test harness and the local stack.
// Binaries are found through environment variables or the tool cache that hack/tools.sh fills.
package stack

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a running child process whose output goes to a log file.
type Process struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	once sync.Once
}

// startProcess starts bin with args and env, logging to logPath. The child is put in its own
// process group and killed if this process dies, so a crashed test leaves nothing running.
func startProcess(name, bin string, args, env []string, logPath string) (*Process, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o750); err != nil {
		return nil, fmt.Errorf("creating log directory for %s: %w", name, err)
	}
	logFile, err := os.Create(logPath) //nolint:gosec // the path is built by the harness
	if err != nil {
		return nil, fmt.Errorf("creating log file for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...) //nolint:gosec // binaries come from the pinned tool cache
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after the grace period.
func (p *Process) Stop(grace time.Duration) error {
	if p == nil {
		return nil
	}
	p.once.Do(func() {
		if p.Exited() {
			return
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return nil
}

// LogTail returns the last n bytes of the process's log, for error messages.
func (p *Process) LogTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers with one of the accepted status codes, the process exits,
// or the timeout passes.
func waitHTTP(ctx context.Context, p *Process, url string, timeout time.Duration, accept ...int) error {
	return poll(ctx, &http.Client{Timeout: 2 * time.Second}, p, url, timeout, statusIn(accept))
}

// statusIn accepts an answer with one of the status codes.
func statusIn(accept []int) func(*http.Response) bool {
	return func(resp *http.Response) bool { return slices.Contains(accept, resp.StatusCode) }
}

// waitHTTPS is waitHTTP for a loopback endpoint serving a self-signed certificate: only the
// health answer is read, so the certificate is not verified.
func waitHTTPS(ctx context.Context, p *Process, url string, timeout time.Duration) error {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback health probe
	}
	return poll(ctx, client, p, url, timeout, statusIn([]int{200}))
}

func poll(ctx context.Context, client *http.Client, p *Process, url string, timeout time.Duration, healthy func(*http.Response) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("building health request for %s: %w", p.Name, err)
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if healthy(resp) {
				return nil
			}
		}
		if p.Exited() {
			return fmt.Errorf("%s exited before it was healthy; last log lines:\n%s", p.Name, p.LogTail(2000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s was not healthy at %s within %s; last log lines:\n%s", p.Name, url, timeout, p.LogTail(2000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Tool names understood by BinaryDir.
const (
	ToolKube  = "kube"
	ToolMinIO = "minio"
	ToolVault = "vault"
)

var envForTool = map[string]string{
	ToolKube:  "KUBEBUILDER_ASSETS",
	ToolMinIO: "FIVESAFES_MINIO_DIR",
	ToolVault: "FIVESAFES_VAULT_DIR",
}

// BinaryDir returns the directory holding a tool's binaries: the tool's environment variable
// (KUBEBUILDER_ASSETS, FIVESAFES_MINIO_DIR, FIVESAFES_VAULT_DIR) when set, else the tool cache
// directory hack/tools.sh reports. It fails with the command that builds the tool when the binary
// is missing.
func BinaryDir(tool string, binaries ...string) (string, error) {
	envName, ok := envForTool[tool]
	if !ok {
		return "", fmt.Errorf("unknown tool %q", tool)
	}
	dir := os.Getenv(envName)
	if dir == "" {
		var err error
		dir, err = toolsPath(tool)
		if err != nil {
			return "", err
		}
	}
	for _, b := range binaries {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() { //nolint:gosec // G703: the tool cache directory is ours
			root, _ := ModuleRoot()
			return "", fmt.Errorf("%s binary %s not found in %s: build it with `make tools` "+
				"(or `%s %s`), or point %s at a directory that has it",
				tool, b, dir, filepath.Join(root, "hack", "tools.sh"), tool, envName)
		}
	}
	return dir, nil
}

func toolsPath(tool string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("bash", filepath.Join(root, "hack", "tools.sh"), "path", tool).Output() //nolint:gosec // fixed script in the repository
	if err != nil {
		return "", fmt.Errorf("asking hack/tools.sh where %s lives: %w", tool, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ModuleRoot returns the directory of the Fivesafes go.mod, searching up from the working
// directory (tests run in their package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the working directory: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod")) //nolint:gosec // walking up to the module root
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module github.com/fivesafes/fivesafes\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the fivesafes module: run from the repository")
		}
		dir = parent
	}
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// StopIfRunning stops the process, if there is one, with a five-second grace period.
func (p *Process) StopIfRunning() error {
	if p == nil {
		return nil
	}
	return p.Stop(5 * time.Second)
}
