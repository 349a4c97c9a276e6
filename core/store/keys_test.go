package store_test

import (
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// hashTag applies Redis Cluster's rule: the slot is computed from the text
// between the first { and the next }, when that text is not empty.
func hashTag(key string) string {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return key
	}
	return key[open+1 : open+1+end]
}

func TestIdempotencyKeysShareOneHashTag(t *testing.T) {
	keys, err := store.NewKeys("shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ scope, key string }{
		{"s", "k"},
		{"s", "k}x"},
		{"s", "{k}"},
		{"s{", "}"},
		{"a:b", "c"},
		{"s", "%7D"},
	} {
		k := keys.Idempotency(tc.scope, tc.key)
		if hashTag(k.Record) != hashTag(k.Lock) {
			t.Errorf("(%q, %q): record %q and lock %q hash differently", tc.scope, tc.key, k.Record, k.Lock)
		}
		if !strings.HasPrefix(k.Record, "shop:idem:{") {
			t.Errorf("(%q, %q): record %q is outside the prefix", tc.scope, tc.key, k.Record)
		}
	}
}

func TestIdempotencyKeysNeverMeet(t *testing.T) {
	keys, _ := store.NewKeys("")
	seen := map[string][2]string{}
	for _, p := range [][2]string{
		{"a:b", "c"}, {"a", "b:c"},
		{"a%3Ab", "c"}, {"a", "%3Ab:c"},
		{"s", "}"}, {"s", "%7D"},
		{"s", "{"}, {"s", "%7B"},
	} {
		rec := keys.Idempotency(p[0], p[1]).Record
		if other, ok := seen[rec]; ok {
			t.Errorf("%q and %q both map to %q", p, other, rec)
		}
		seen[rec] = p
	}
}

func TestNewKeys(t *testing.T) {
	if k, err := store.NewKeys(""); err != nil || k.Prefix() != store.DefaultPrefix {
		t.Fatalf(`NewKeys("") = %q, %v; want the default prefix`, k.Prefix(), err)
	}
	for _, bad := range []string{"{shop}", "shop}", "a{b"} {
		if _, err := store.NewKeys(bad); err == nil {
			t.Errorf("NewKeys(%q) accepted a brace, which would pin every key to one slot", bad)
		}
	}
}

// Pay links written before the store owned them live under exactly this
// text; a hex hash needs no escaping.
func TestPayLinkKeysKeepTheirText(t *testing.T) {
	keys, _ := store.NewKeys("shop")
	const hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	k := keys.PayLink(hash)
	if k.Record != "shop:paylink:{"+hash+"}" || k.Click != "shop:paylink:{"+hash+"}:click" {
		t.Fatalf("keys = %+v", k)
	}
}
