//go:build !windows

package adapter

import "os"

// parentGone returns a check that the process that started this one has
// gone: Unix gives an orphan a new parent (init or a subreaper), so the
// parent's pid changes. nil when there is nothing to watch: the parent is
// init already (started by no host, or orphaned before this ran).
func parentGone() func() bool {
	ppid := os.Getppid()
	if ppid <= 1 {
		return nil
	}
	return func() bool { return os.Getppid() != ppid }
}
