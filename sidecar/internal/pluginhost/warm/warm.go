// Package warm makes Go's P-521 generator table early, off the path to a
// ready adapter. The first P-521 operation of a process computes it (about
// 13 ms of CPU on a 2-core VM); both ends of go-plugin's mTLS need it soon:
// a built-in adapter's process makes a P-521 certificate first thing after
// start-up, and the host checks that certificate's handshake signature.
//
// This package imports nothing heavy, so Go initializes it early, and its
// init starts the table in a built-in adapter's process: it is then made
// while the rest of the binary initializes, on the other core. The host
// starts it with the adapter's process (pluginhost).
package warm

import (
	"crypto/ecdh"
	"crypto/rand"
	"os"
	"sync"
)

// Command is the sidecar's command that serves a built-in adapter
// (pluginhost.BuiltinCommand).
const Command = "plugin"

// P521 makes the table, once per process; it returns when it is made.
var P521 = sync.OnceFunc(func() { _, _ = ecdh.P521().GenerateKey(rand.Reader) })

func init() {
	if len(os.Args) > 1 && os.Args[1] == Command {
		go P521()
	}
}
