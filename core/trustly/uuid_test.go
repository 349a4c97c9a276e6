package trustly

import (
	"regexp"
	"testing"
)

var uuidV4Pattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewUUIDIsCanonicalVersion4(t *testing.T) {
	for range 200 {
		u := NewUUID()
		if !uuidV4Pattern.MatchString(u) {
			t.Fatalf("NewUUID() = %q, not a lowercase canonical v4 UUID", u)
		}
	}
}

func TestNewUUIDDoesNotRepeat(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		u := NewUUID()
		if seen[u] {
			t.Fatalf("NewUUID repeated %q within %d calls", u, n)
		}
		seen[u] = true
	}
}
