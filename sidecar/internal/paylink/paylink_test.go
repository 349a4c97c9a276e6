package paylink

import (
	"strings"
	"testing"
)

func TestTokenHashRefusesWhatIsNotAToken(t *testing.T) {
	for _, tok := range []string{"", "short", "../../etc/passwd", string(make([]byte, 43))} {
		if _, ok := tokenHash(tok); ok {
			t.Errorf("%q accepted", tok)
		}
	}
}

func TestNewTokensAreTheirOwnHashesKeys(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		token, err := newToken()
		if err != nil {
			t.Fatal(err)
		}
		hash, ok := tokenHash(token)
		if !ok {
			t.Fatalf("our own token %q is refused", token)
		}
		if seen[hash] || strings.Contains(hash, token) || len(linkID(hash)) != 19 {
			t.Fatalf("token %q: hash %q, id %q", token, hash, linkID(hash))
		}
		seen[hash] = true
	}
}
