package pluginhost

import (
	"os/exec"
	"syscall"
)

// dieWithHost has the kernel kill the plugin when the sidecar dies however
// it dies: go-plugin stops a plugin only when the host lives to call Kill,
// so a kill -9 (or an OOM kill) of the sidecar left the plugin running,
// holding its port and the platform's credentials. SIGKILL, because a
// plugin that ignores SIGTERM is exactly the one that outlives its host,
// and adapters are stateless: nothing is lost. The adapter SDK's Serve
// also exits when its parent goes away, on every OS, for plugins started
// without this (an older sidecar, another host).
func dieWithHost(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
