package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// outputLimit is how much of a process's output Output keeps.
const outputLimit = 1 << 20

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 30 * time.Second

// Process is one OS process of a cluster: an Amtsweg replica or an engine.
type Process struct {
	// Role is one of the Role constants.
	Role string
	// Index numbers the replicas of a role from 0.
	Index int

	c         *Cluster
	args      []string
	env       []string
	opsURL    string
	apiURL    string
	readyLine bool // an engine: ready when it prints readyLine

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current run ended
	err  error         // how the current run ended
	out  []byte        // the last outputLimit bytes
	log  *os.File
}

func newProcess(c *Cluster, role string, idx int, args, env []string, opsURL string) *Process {
	return &Process{Role: role, Index: idx, c: c, args: args, env: env, opsURL: opsURL}
}

// Name is role-index, e.g. "worker-1".
func (p *Process) Name() string { return fmt.Sprintf("%s-%d", p.Role, p.Index) }

// Write keeps output for Output and appends it to the process's log file.
func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, b...)
	if over := len(p.out) - outputLimit; over > 0 {
		p.out = append([]byte(nil), p.out[over:]...)
	}
	if p.log != nil {
		_, _ = p.log.Write(b)
	}
	return len(b), nil
}

// start starts the process and waits until it is ready.
func (p *Process) start(ctx context.Context) error {
	p.mu.Lock()
	if p.cmd != nil && !p.exited() {
		p.mu.Unlock()
		return fmt.Errorf("cluster: %s is running", p.Name())
	}
	if p.log == nil && p.Role != "command" {
		f, err := os.OpenFile(filepath.Join(p.c.opts.DataDir, "logs", p.Name()+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			p.log = f
		}
	}
	cmd := exec.Command(p.c.opts.Binary, p.args...)
	cmd.Env = p.env
	cmd.Stderr = p
	ready := make(chan string, 1)
	if p.readyLine {
		pr, pw := io.Pipe()
		cmd.Stdout = pw
		go func() {
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				line := sc.Text()
				_, _ = p.Write([]byte(line + "\n"))
				if rest, ok := strings.CutPrefix(line, readyLine); ok {
					select {
					case ready <- rest:
					default:
					}
				}
			}
			_, _ = io.Copy(io.Discard, pr)
		}()
		if err := cmd.Start(); err != nil {
			p.mu.Unlock()
			return fmt.Errorf("cluster: start %s: %w", p.Name(), err)
		}
		p.cmd, p.done = cmd, make(chan struct{})
		go p.wait(cmd, p.done, pw)
	} else {
		cmd.Stdout = p
		if err := cmd.Start(); err != nil {
			p.mu.Unlock()
			return fmt.Errorf("cluster: start %s: %w", p.Name(), err)
		}
		p.cmd, p.done = cmd, make(chan struct{})
		go p.wait(cmd, p.done, nil)
	}
	done := p.done
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.readyLine {
			select {
			case <-ready:
				return nil
			default:
			}
		} else if p.ready(ctx) {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("cluster: %s exited before it was ready (%v); its last output:\n%s", p.Name(), p.exitErr(), p.tail(4000))
		case <-ctx.Done():
			_ = p.Kill()
			return fmt.Errorf("cluster: %s not ready in time (%w); its last output:\n%s", p.Name(), ctx.Err(), p.tail(4000))
		case <-tick.C:
		}
	}
}

// wait records the end of a run.
func (p *Process) wait(cmd *exec.Cmd, done chan struct{}, pw *io.PipeWriter) {
	err := cmd.Wait()
	if pw != nil {
		pw.Close()
	}
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	close(done)
}

// ready asks the process's /readyz.
func (p *Process) ready(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, p.opsURL+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// runToEnd runs a short command and returns its output.
func (p *Process) runToEnd(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, p.c.opts.Binary, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// exited reports whether the current run ended; p.mu is held.
func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *Process) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.out) > n {
		return string(p.out[len(p.out)-n:])
	}
	return string(p.out)
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Process) Kill() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("cluster: %s was never started", p.Name())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("cluster: kill %s: %w", p.Name(), err)
	}
	<-done
	return nil
}

// Stop sends SIGTERM and waits (30 s, then SIGKILL). A process that
// already ended is left alone. It returns an error if the process did not
// end cleanly on SIGTERM.
func (p *Process) Stop() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopGrace):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("cluster: %s did not stop within %s of SIGTERM; killed", p.Name(), stopGrace)
	}
	if err := p.exitErr(); err != nil {
		return fmt.Errorf("cluster: %s ended with %v after SIGTERM", p.Name(), err)
	}
	return nil
}

// Restart starts the stopped or killed process again with the same ports
// and settings and waits until it is ready.
func (p *Process) Restart(ctx context.Context) error {
	if p.Running() {
		return fmt.Errorf("cluster: restart %s: it is running; Stop or Kill it first", p.Name())
	}
	return p.start(ctx)
}

// Output is what the process wrote to stdout and stderr so far (the last
// MiB, across restarts).
func (p *Process) Output() string { return p.tail(outputLimit) }

// OpsURL is the base URL of the process's /livez, /readyz and /metrics
// ("" for the engines).
func (p *Process) OpsURL() string { return p.opsURL }

// APIURL is the base URL of an API replica ("" for other roles).
func (p *Process) APIURL() string { return p.apiURL }

// PID is the OS process id of the current run (0 if never started).
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process is running.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.exited()
}

// closeLog closes the process's log file; later output is kept in memory
// only.
func (p *Process) closeLog() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log != nil {
		_ = p.log.Close()
		p.log = nil
	}
}
