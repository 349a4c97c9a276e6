package adapter

import (
	"os"
	"time"

	hclog "github.com/hashicorp/go-hclog"
)

// parentPoll is how often a plugin checks that its host is still there:
// often enough that an orphan goes within seconds, rarely enough to cost
// nothing.
var parentPoll = time.Second

// exitWithParent calls exit once gone reports the process that started
// this plugin (the sidecar) gone. go-plugin ends a plugin only when the
// host lives to ask; a host killed with SIGKILL left its plugin running for
// good. The sidecar also has Linux kill its plugins when it dies (a
// parent-death signal); this is the line of defence that holds on every
// OS and for any host. It never returns unless exit does.
func exitWithParent(log hclog.Logger, every time.Duration, gone func() bool, exit func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if gone() {
			log.Warn("the host process is gone; the plugin exits")
			exit()
			return
		}
	}
}

// exitOrphaned is the exit of a plugin whose host is gone.
func exitOrphaned() { os.Exit(3) }
