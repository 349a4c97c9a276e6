//go:build unix

package pluginhost_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processGone reports whether pid has exited: no such process, or a zombie
// its new parent has not reaped yet (it runs no code any more).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS == "linux" // gone between the two looks
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

// A sidecar killed with SIGKILL takes its plugin with it, even a plugin
// that ignores SIGTERM: the host has Linux send the plugin SIGKILL when it
// dies, and the SDK's Serve exits when its parent is gone. Each line of
// defence is tested alone, then both together. A real process tree: the
// test starts fakesidecar, which starts the plugin; the test kills
// fakesidecar and waits for the plugin to go.
func TestPluginDiesWithItsKilledHost(t *testing.T) {
	tests := []struct {
		name      string
		host      string // fakesidecar host's first argument
		env       []string
		linuxOnly bool
	}{
		{name: "the host's parent-death signal, plugin without the SDK's watch", host: "pluginhost",
			env: []string{"TESTPLUGIN_MODE=deaf"}, linuxOnly: true},
		{name: "the SDK's watch, host without a parent-death signal", host: "bare",
			env: []string{"TESTPLUGIN_MODE=ok", "TESTPLUGIN_IGNORE_TERM=1"}},
		{name: "both, as the sidecar runs its adapters", host: "pluginhost",
			env: []string{"TESTPLUGIN_MODE=ok", "TESTPLUGIN_IGNORE_TERM=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.linuxOnly && runtime.GOOS != "linux" {
				t.Skip("a parent-death signal exists only on Linux")
			}
			host := exec.Command(bin.fakesidecar, "host", tt.host, bin.testplugin)
			host.Env = append(os.Environ(), tt.env...)
			host.Stderr = os.Stderr
			out, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })

			var pid int
			line, err := bufio.NewReader(out).ReadString('\n')
			if _, serr := fmt.Sscanf(line, "plugin pid %d", &pid); err != nil || serr != nil || pid <= 0 {
				t.Fatalf("fakesidecar printed %q (%v, %v)", line, err, serr)
			}
			t.Cleanup(func() {
				if !processGone(pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL) // the plugin this test started
				}
			})
			if processGone(pid) {
				t.Fatal("the plugin is not running")
			}

			if err := host.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = host.Wait()
			// A fail-safe bound, far above the SDK's 1 s poll: not a speed
			// test.
			deadline := time.Now().Add(30 * time.Second)
			for !processGone(pid) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !processGone(pid) {
				t.Fatalf("plugin %d still runs 30 s after its host was killed", pid)
			}
		})
	}
}
