//go:build !linux

package pluginhost

import "os/exec"

// dieWithHost: only Linux has a parent-death signal; elsewhere the adapter
// SDK's Serve exits when its parent goes away.
func dieWithHost(*exec.Cmd) {}
