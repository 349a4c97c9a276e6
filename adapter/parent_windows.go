//go:build windows

package adapter

import "os"

// parentGone returns a check that the process that started this one has
// gone: Windows does not re-parent orphans, so the parent's pid is looked
// up instead (best effort: a pid can be reused).
func parentGone() func() bool {
	ppid := os.Getppid()
	if ppid <= 0 {
		return nil
	}
	return func() bool {
		p, err := os.FindProcess(ppid)
		if err != nil {
			return true
		}
		_ = p.Release()
		return false
	}
}
