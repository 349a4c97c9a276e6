package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

func benchStore(b *testing.B) *store.RedisIdempotency {
	b.Helper()
	rdb := client(b, store.RedisConfig{Addrs: []string{redistest.Addr(b)}})
	keys, err := store.NewKeys(redistest.Prefix(b))
	if err != nil {
		b.Fatal(err)
	}
	// A short TTL so a long benchmark run leaves nothing behind for a day.
	return store.NewRedisIdempotency(rdb, keys, store.IdempotencyOptions{TTL: 10 * time.Minute})
}

// BenchmarkClaimComplete is the cost idempotency adds to every new request.
func BenchmarkClaimComplete(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	resp := store.Outcome{Code: "201", Body: []byte(`{"orderId":"1234567890","url":"https://trustly.example/checkout/abc"}`)}
	i := 0
	for b.Loop() {
		i++
		c, _, err := s.Claim(ctx, "shop", strconv.Itoa(i), "fp")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, c, resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplay is the cost of answering a retried request.
func BenchmarkReplay(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	c, _, err := s.Claim(ctx, "shop", "key", "fp")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Complete(ctx, c, store.Outcome{Code: "201", Body: []byte(`{"orderId":"1"}`)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, resp, err := s.Claim(ctx, "shop", "key", "fp"); err != nil || resp == nil {
			b.Fatal(resp, err)
		}
	}
}
