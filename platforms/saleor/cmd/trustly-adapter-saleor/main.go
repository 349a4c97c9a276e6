// Command trustly-adapter-saleor is the Saleor adapter as a stand-alone
// plugin executable, for hosts that load adapters by path. The sidecar
// binary also carries it built in (TRUSTLY_SIDECAR_ADAPTER=saleor).
package main

import (
	"fmt"
	"os"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/saleor"
)

func main() {
	a, err := saleor.NewFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	adapter.Serve(a)
}
