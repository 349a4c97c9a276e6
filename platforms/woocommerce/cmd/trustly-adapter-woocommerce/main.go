// Command trustly-adapter-woocommerce is the WooCommerce adapter as a
// stand-alone plugin executable. The sidecar binary also carries it built
// in ("trustly-sidecar plugin woocommerce").
package main

import (
	"fmt"
	"os"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/woocommerce"
)

func main() {
	a, err := woocommerce.NewFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	adapter.Serve(a)
}
