package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// BenchmarkNotification is the notification path without HTTP: verify,
// route, one transition script, sign the reply. Signing and verifying
// (RSA-2048) dominate; the Redis part is three round trips.
func BenchmarkNotification(b *testing.B) {
	keys()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(b)})
	b.Cleanup(func() { rdb.Close() })
	k, _ := store.NewKeys(redistest.Prefix(b))
	st := store.NewRedisOrders(rdb, k, store.OrdersOptions{})
	eng, err := engine.New(engine.Config{Store: st, Verifier: trustly.NewVerifierKey(trustly.Sim, &simKey.PublicKey), MerchantKey: merchantKey})
	if err != nil {
		b.Fatal(err)
	}
	const id = "bench"
	if err := st.Create(ctx, store.Order{ID: id, Flow: "deposit", State: "new", Currency: "SEK", Amount: 10000, MessageID: "M" + id}); err != nil {
		b.Fatal(err)
	}
	if err := st.IndexTrustlyOrderID(ctx, "T"+id, id); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		unique bool
	}{{"new", true}, {"repeat", false}} {
		b.Run(tc.name, func(b *testing.B) {
			const pool = 256
			ns := make([]sent, pool)
			for i := range ns {
				nid := "NB-repeat"
				if tc.unique {
					nid = fmt.Sprintf("NB-%s-%d", b.Name(), i)
				}
				ns[i] = signed(b, "credit", id, nid)
			}
			i := 0
			for b.Loop() {
				if _, err := eng.HandleNotification(ctx, ns[i%pool].body); err != nil {
					b.Fatal(err)
				}
				i++
				if tc.unique && i%pool == 0 {
					b.StopTimer()
					for j := range ns {
						ns[j] = signed(b, "credit", id, fmt.Sprintf("NB-%s-%d", b.Name(), i+j))
					}
					b.StartTimer()
				}
			}
		})
	}
}
