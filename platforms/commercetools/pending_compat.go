package commercetools

import "github.com/trustly-sidecar/trustly-sidecar/adapter"

// isPending: until the host's Result.Pending lands on main.
func isPending(adapter.Result) bool { return false }
