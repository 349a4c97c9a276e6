package adapter

import (
	"sync/atomic"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
)

// The plugin exits once its parent is gone, and not before.
func TestExitWithParent(t *testing.T) {
	var checks atomic.Int32
	gone := func() bool { return checks.Add(1) >= 3 } // the host dies between the 2nd and 3rd check
	exited := make(chan int32, 1)
	go exitWithParent(hclog.NewNullLogger(), time.Millisecond, gone, func() { exited <- checks.Load() })
	select {
	case n := <-exited:
		if n != 3 {
			t.Errorf("exited after %d checks, want 3 (when the parent was first seen gone)", n)
		}
	case <-time.After(30 * time.Second): // fail-safe bound, not a speed test
		t.Fatal("the plugin did not exit after its parent went")
	}
}

// A test process has a living parent (go test): nothing to exit for.
func TestParentGoneWhileTheParentLives(t *testing.T) {
	gone := parentGone()
	if gone == nil {
		t.Skip("started by init: nothing to watch")
	}
	if gone() {
		t.Error("parent reported gone while it runs")
	}
}
