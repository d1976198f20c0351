// Package testproc runs the project's binary as subprocesses in tests and
// benchmarks: it builds the binary once as released (CGO_ENABLED=0), starts
// commands whose output is kept for failure reports, and stops them with a
// signal.
package testproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the project's binary into dir, as released (CGO_ENABLED=0).
func Build(t testing.TB, dir string) string {
	t.Helper()
	path, err := build(dir)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func build(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "terraform-provider-chatwoot")
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", path, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return path, nil
}

// Binary builds the project's binary at most once per test process, for
// packages whose tests share it.
type Binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Path builds the binary on first use and returns its path.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "tpc-test"); b.err == nil {
			b.path, b.err = build(b.dir)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Remove deletes the built binary; call it from TestMain after m.Run.
func (b *Binary) Remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.CommandContext(context.Background(), "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root with `go env GOMOD`: %w", err)
	}
	if strings.TrimSpace(string(out)) == "" {
		return "", errors.New("`go env GOMOD` names no go.mod: run the tests inside the module")
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Proc is a running subprocess.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  Buffer
	done chan struct{}
	err  error
}

// Start starts cmd, sending its stdout and stderr to Output. At the end of
// the test it is stopped with SIGTERM (killed after 20s), and when the test
// failed the tail of its output is logged.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop(syscall.SIGTERM, 20*time.Second)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, Tail(p.Output(), 6000))
		}
	})
	return p
}

// Stop signals the process and waits for it to exit; it reports whether it
// exited within the time given (it is killed otherwise).
func (p *Proc) Stop(sig syscall.Signal, within time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return true
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// Output is everything the process wrote so far.
func (p *Proc) Output() string { return p.out.String() }

// Done is closed once the process exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process exited; valid once Done is closed.
func (p *Proc) Err() error { return p.err }

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Buffer is a bytes.Buffer safe for one writer and concurrent readers,
// for a subprocess's or a logger's output.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreeAddr returns a loopback address nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitFor polls cond until it holds, failing the test after within.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
