// Package wordpresstest runs the WooCommerce plugin (../wordpress-plugin)
// inside a real WordPress: Debian's wordpress package served by php -S, a
// throwaway MariaDB database, the plugin installed from the zip `make
// woocommerce-zip` builds through wp-admin's upload form and activated by
// WordPress's own plugin screen, against the real trustly-sidecar binary and
// its simulator. WooCommerce itself comes from no registry this project may
// use, so a stand-in of the parts the plugin calls is loaded as a must-use
// plugin (testdata/mu-plugins/woocommerce-stand-in.php).
//
// The test needs php with mysqli, MariaDB and the built binary and zip, so
// plain `go test ./...` skips it; `make wordpress-test` provides all of them
// and sets TRUSTLY_TEST_WORDPRESS=1.
package wordpresstest
