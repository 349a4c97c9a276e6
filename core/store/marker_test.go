package store_test

import (
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// The marker is written once; later starts find the same one, and a Redis
// that lost its data no longer has it.
func TestMarkerIsWrittenOnceAndLostWithTheData(t *testing.T) {
	srv := redistest.NewServer(t)
	open := func() *store.DB {
		db, err := store.Open(store.RedisConfig{Addrs: []string{srv.Addr()}, DialTimeout: time.Second}, redistest.Prefix(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	ctx := t.Context()
	now := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	db := open()
	if _, found, err := db.Marker(ctx); found || err != nil {
		t.Fatalf("marker on an empty Redis: found %t, %v", found, err)
	}
	first, created, err := db.EnsureMarker(ctx, now)
	if err != nil || !created || first.ID == "" || !first.Created.Equal(now) {
		t.Fatalf("first start: %+v created %t, %v", first, created, err)
	}
	again, created, err := db.EnsureMarker(ctx, now.Add(time.Hour))
	if err != nil || created || again != first {
		t.Fatalf("second start: %+v created %t, %v; want the first marker %+v", again, created, err, first)
	}
	if m, found, err := db.Marker(ctx); !found || err != nil || m != first {
		t.Fatalf("Marker: %+v %t %v", m, found, err)
	}

	srv.Stop() // no persistence: it comes back empty
	srv.Start()
	if _, found, err := db.Marker(ctx); found || err != nil {
		t.Fatalf("after a restart without persistence: found %t, %v; want it gone", found, err)
	}
	next, created, err := db.EnsureMarker(ctx, now)
	if err != nil || !created || next.ID == first.ID {
		t.Fatalf("a new start on the empty Redis: %+v created %t, %v; want a new id", next, created, err)
	}

	emb, err := store.OpenEmbedded(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	if _, created, err := emb.EnsureMarker(ctx, now); !created || err != nil {
		t.Fatalf("embedded: created %t, %v", created, err)
	}
}
