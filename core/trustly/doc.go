// Package trustly speaks Trustly's EU JSON-RPC 1.1 API: the canonical
// serialization that signatures are computed over, RSA-SHA1 signing and
// verification, typed requests with the checks Trustly would apply, a client
// with a retry policy that never risks a double payment, and notification
// parsing with signed replies.
//
// Everything that is signed or verified goes through the raw JSON tree
// (map[string]any, []any, string, json.Number, nil) rather than Go structs:
// Trustly signs what it sends, including fields this package does not know
// and numbers in the exact text they were written with.
package trustly
