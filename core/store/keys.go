package store

import (
	"errors"
	"strings"
)

// DefaultPrefix starts every key when the configuration names no prefix.
const DefaultPrefix = "trustly"

// Keys names every Redis key the sidecar uses. The layout:
//
//	<prefix>:idem:{<scope>:<key>}        hash: one idempotency record
//	<prefix>:idem:{<scope>:<key>}:lock   string: fencing token of the live claim, expiring after the lock TTL
//
// The part in braces is the Redis Cluster hash tag: keys that one script
// touches together share it, so they live in one slot. Records of different
// keys have different tags and spread over the Cluster. Later families (an
// order hash with its indexes, notification dedupe, the outbox) follow the
// same rule: one tag per unit that a script changes atomically.
//
// Caller-supplied parts are escaped (% : { } as %25 %3A %7B %7D) so that a
// brace cannot end the tag early and ("a:b", "c") never meets ("a", "b:c").
type Keys struct {
	prefix string
}

// NewKeys returns the key space under prefix ("" means DefaultPrefix). A
// prefix with a brace is refused: it would become the hash tag of every key
// and put all of them into one slot.
func NewKeys(prefix string) (Keys, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return Keys{}, errors.New("store: key prefix must not contain { or }: they would make it every key's hash tag")
	}
	return Keys{prefix: prefix}, nil
}

// Prefix returns the prefix every key starts with.
func (k Keys) Prefix() string { return k.prefix }

// IdempotencyKeys are the keys of one idempotency record; they share a hash tag.
type IdempotencyKeys struct {
	Record string // hash: fence, state, fp, status, body, point
	Lock   string // string: token of the claim holder; its TTL is the lock
}

// Idempotency returns the keys of the record for key within scope.
func (k Keys) Idempotency(scope, key string) IdempotencyKeys {
	base := k.prefix + ":idem:" + tag(scope, key)
	return IdempotencyKeys{Record: base, Lock: base + ":lock"}
}

// tag builds a hash tag from caller-supplied parts.
func tag(parts ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		tagEscaper.WriteString(&b, p)
	}
	b.WriteByte('}')
	return b.String()
}

var tagEscaper = strings.NewReplacer("%", "%25", ":", "%3A", "{", "%7B", "}", "%7D")
