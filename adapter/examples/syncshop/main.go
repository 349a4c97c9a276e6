// Command syncshop is an out-of-tree example adapter: a module of its own
// that imports only the sidecar's adapter SDK, as a platform developer's
// adapter would. Its platform, "SyncShop", is made up: it calls the payment
// app synchronously and waits for the answer (the shape of Saleor and
// commercetools), and takes status changes over REST.
//
// Build it with `go build -o syncshop .`; the sidecar loads the executable by
// path (docs/adapters.md).
package main

import (
	"fmt"
	"os"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

func main() {
	a, err := fromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncshop:", err)
		os.Exit(1)
	}
	adapter.Serve(a)
}
