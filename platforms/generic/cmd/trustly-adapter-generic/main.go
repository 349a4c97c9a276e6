// Command trustly-adapter-generic is the generic platform adapter as a
// stand-alone plugin executable, for hosts that load adapters by path. The
// sidecar binary also carries it built in ("trustly-sidecar plugin generic").
package main

import (
	"fmt"
	"os"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
)

func main() {
	a, err := generic.NewFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	adapter.Serve(a)
}
