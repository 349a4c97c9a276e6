// Package redistest gives tests a real Redis: the shared server that
// `make test` starts, a private server a test may stop and restart, a real
// Redis Cluster, or an in-process miniredis.
//
// Tests never touch a Redis that happens to listen on the machine (6379 or
// elsewhere): they use the address `make test` exports, or a server this
// package starts on a free port and stops again.
package redistest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// EnvAddr names the variable through which `make test` (.ci/with-redis)
// hands every test package one shared redis-server.
const EnvAddr = "TRUSTLY_TEST_REDIS_ADDR"

// startTimeout bounds how long a fresh redis-server may take to answer PING;
// generous because CI machines are small and run tests in parallel.
const startTimeout = 10 * time.Second

var shared struct {
	mu     sync.Mutex
	inMain bool    // Main is running the tests, so one server may outlive a test
	srv    *Server // started lazily by Addr when EnvAddr is unset
	// clusters by number of masters, started lazily by SharedCluster
	clusters map[int]*cluster
}

// Main runs a package's tests and then stops the redis-server that Addr may
// have started for them. Call it from TestMain; without it, Addr starts one
// server per test instead of one per package.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	if shared.srv != nil {
		shared.srv.stop()
		os.RemoveAll(shared.srv.dir)
		shared.srv = nil
	}
	for _, c := range shared.clusters {
		c.stop()
	}
	shared.clusters = nil
	shared.mu.Unlock()
	os.Exit(code)
}

// Addr returns the address of a Redis shared by the tests of this run: the
// one named by TRUSTLY_TEST_REDIS_ADDR, or else a private redis-server started
// on a free port. Tests sharing it must keep to their own keys (see Prefix).
func Addr(tb testing.TB) string {
	tb.Helper()
	if addr := os.Getenv(EnvAddr); addr != "" {
		return addr
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		return NewServer(tb).Addr()
	}
	if shared.srv == nil {
		dir, err := os.MkdirTemp("", "redistest-")
		if err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		srv, err := startFree(dir, nil)
		if err != nil {
			os.RemoveAll(dir)
			tb.Fatalf("redistest: %v", err)
		}
		shared.srv = srv
	}
	return shared.srv.Addr()
}

// Server is a private redis-server process that a test may stop and start,
// for example to see how code behaves while Redis is down.
type Server struct {
	tb    testing.TB
	bin   string
	dir   string
	port  int
	extra []string
	// conf, when set, is a config file the server starts from, as a
	// Sentinel (sentinel.go); it then gets no data-related defaults.
	conf string

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil while stopped
	exited chan struct{} // closed once cmd has been reaped
}

// NewServer starts a private redis-server on a free port; it is stopped when
// the test ends. Its data lives only in memory, so Stop and Start lose it, as
// a real Redis without persistence would.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	return newServer(tb, nil)
}

// NewServerArgs is NewServer with more redis-server arguments, e.g.
// "--maxmemory-policy", "allkeys-lru"; later arguments win over the
// defaults (no persistence).
func NewServerArgs(tb testing.TB, args ...string) *Server {
	tb.Helper()
	return newServer(tb, args)
}

func newServer(tb testing.TB, extra []string) *Server {
	tb.Helper()
	srv, err := startFree(tb.TempDir(), extra)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	srv.tb = tb
	tb.Cleanup(srv.stop)
	return srv
}

// Addr returns the server's host:port; it stays the same across Stop and Start.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Freeze stops the server's process with SIGSTOP: it keeps its port and its
// connections but answers nothing, as a hung Redis would. The test's
// cleanup thaws it, so it can always be stopped.
func (s *Server) Freeze() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP)
	s.tb.Cleanup(s.Thaw)
}

// Thaw lets a frozen server run again (SIGCONT).
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if err := syscall.Kill(s.cmd.Process.Pid, sig); err != nil {
		s.tb.Errorf("redistest: %v to redis-server: %v", sig, err)
	}
}

// Stop kills the server and waits until it is gone.
func (s *Server) Stop() { s.stop() }

// Start starts a stopped server again on the same port.
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	// The port was ours a moment ago; another process grabbing it in between
	// is possible but rare, and the error then says so.
	if err := s.launch(); err != nil {
		s.tb.Fatalf("redistest: restart on port %d: %v", s.port, err)
	}
}

func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	// SIGKILL rather than SHUTDOWN: an outage test wants Redis gone at once,
	// and there is nothing to persist.
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// lookPath finds redis-server or explains how to get one.
func lookPath() (string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redis-server is not on PATH; run the tests with `make test`, " +
			"which installs redis-server if needed and starts one for them " +
			"(or install redis-server, or set " + EnvAddr + " to a Redis you own)")
	}
	return bin, nil
}

// startFree starts redis-server on a free port, trying a few ports because
// another process may take a port between our probe and redis-server's bind.
func startFree(dir string, extra []string) (*Server, error) {
	return startFreeConf(dir, "", extra)
}

// startFreeConf is startFree, as a Sentinel from conf when conf is set.
func startFreeConf(dir, conf string, extra []string) (*Server, error) {
	bin, err := lookPath()
	if err != nil {
		return nil, err
	}
	var last error
	for range 10 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{bin: bin, dir: dir, port: port, extra: extra, conf: conf}
		if last = s.launch(); last == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("no redis-server started on a free port: %w", last)
}

// launch starts the process and waits until it answers PING. Called with
// s.mu held or before s is shared.
func (s *Server) launch() error {
	logfile := filepath.Join(s.dir, "redis-"+strconv.Itoa(s.port)+".log")
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", logfile,
		"--daemonize", "no",
	}
	if s.conf != "" {
		args = []string{s.conf, "--sentinel",
			"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
			"--logfile", logfile, "--daemonize", "no"}
	}
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		// The one Wait: it reaps the process and tells launch and stop.
		_ = cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, tail(logfile))
		default:
		}
		// Asking for the pid, not just PING: when two test processes pick
		// the same port, the loser must not mistake the winner's server
		// for its own before its redis-server exits.
		if pid, err := serverPID(s.Addr()); err == nil && pid == cmd.Process.Pid {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redis-server on port %d did not answer PING within %s: %s", s.port, startTimeout, tail(logfile))
}

// serverPID asks the server at addr for its process id, speaking just enough
// RESP that the harness does not depend on the client library under test.
func serverPID(addr string) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "INFO server\r\n"); err != nil {
		return 0, err
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
	if !strings.HasPrefix(head, "$") || err != nil {
		return 0, fmt.Errorf("INFO answered %q", strings.TrimSpace(head))
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("INFO server has no process_id")
}

// freePort picks a port that is free, and whose cluster bus port (port+10000)
// is free too, kept below the ephemeral range so it is rarely taken again
// before redis-server binds it.
func freePort() (int, error) {
	for range 100 {
		var b [2]byte
		_, _ = rand.Read(b[:])
		port := 20000 + (int(b[0])<<8|int(b[1]))%20000
		if portFree(port) && portFree(port+10000) {
			return port, nil
		}
	}
	return 0, errors.New("no free port pair found in 20000-39999")
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// tail returns the end of a redis-server log, which says why it failed.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Prefix returns a key prefix unique to this test, so tests sharing one
// server never see each other's keys and nobody needs FLUSHALL.
func Prefix(tb testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '/':
			return r
		}
		return '_'
	}, tb.Name())
	return "test:" + name + ":" + hex.EncodeToString(b[:])
}

// Embedded returns a started miniredis, closed when the test ends, for tests
// that want to move its clock with FastForward.
func Embedded(tb testing.TB) *miniredis.Miniredis {
	tb.Helper()
	return miniredis.RunT(tb)
}
