package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

type payLinks struct {
	t    *testing.T
	ctx  context.Context
	rdb  redis.UniversalClient
	keys store.Keys
	s    *store.RedisPayLinks
}

func newPayLinks(t *testing.T, rdb redis.UniversalClient, opts store.PayLinkOptions) *payLinks {
	t.Helper()
	keys, err := store.NewKeys(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	return &payLinks{t: t, ctx: context.Background(), rdb: rdb, keys: keys, s: store.NewRedisPayLinks(rdb, keys, opts)}
}

// linkHash is what the sidecar keys a link by: the hex SHA-256 of its token.
func linkHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (p *payLinks) lock(hash string, ttl time.Duration) func() {
	p.t.Helper()
	release, ok, err := p.s.Lock(p.ctx, hash, ttl)
	if err != nil || !ok {
		p.t.Fatalf("Lock = %v, %v; want the lock", ok, err)
	}
	return release
}

func (p *payLinks) locked(hash string) bool {
	p.t.Helper()
	_, ok, err := p.s.Lock(p.ctx, hash, time.Minute)
	if err != nil {
		p.t.Fatal(err)
	}
	return !ok
}

// RunPayLinks runs the pay-link store's contract against the backend that
// newClient reaches.
func RunPayLinks(t *testing.T, newClient NewClient) {
	created := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	link := store.PayLink{ID: "9f86d0", OrderReference: "O-1", Amount: 12345, Currency: "SEK",
		Shopper:    store.PayLinkShopper{EndUserID: "u-1", FirstName: "Åsa", Email: "asa@example.com", Country: "SE"},
		SuccessURL: "https://shop.example/ok", FailURL: "https://shop.example/fail", ShopperStatement: "Shop",
		Created: created, ExpiresAt: created.Add(time.Hour)}

	t.Run("a link is stored under its token's hash only, until retention after its expiry", func(t *testing.T) {
		const retention = 48 * time.Hour
		p := newPayLinks(t, newClient(t), store.PayLinkOptions{Retention: retention})
		token := "token-1"
		hash := linkHash(token)
		if _, found, err := p.s.Get(p.ctx, hash); found || err != nil {
			t.Fatalf("unknown link: found %v, %v", found, err)
		}
		// Created with a clock 10 minutes into the link's life.
		if err := p.s.Create(p.ctx, hash, link, created.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, found, err := p.s.Get(p.ctx, hash)
		if err != nil || !found || !reflect.DeepEqual(got, link) {
			t.Fatalf("Get = %+v, %v, %v; want %+v", got, found, err, link)
		}
		want := 50*time.Minute + retention
		if ttl := p.rdb.PTTL(p.ctx, p.keys.PayLink(hash).Record).Val(); ttl > want || ttl < want-time.Minute {
			t.Fatalf("ttl %v, want %v", ttl, want)
		}
		if err := p.s.Create(p.ctx, hash, link, created); !errors.Is(err, store.ErrCollision) {
			t.Fatalf("a second Create of the same hash = %v, want ErrCollision", err)
		}
		if n := p.rdb.Exists(p.ctx, p.keys.Prefix()+":paylink:{"+token+"}").Val(); n != 0 {
			t.Fatal("the token is a key")
		}
	})

	t.Run("a link is found by its id, with its hash and the same expiry", func(t *testing.T) {
		p := newPayLinks(t, newClient(t), store.PayLinkOptions{})
		hash := linkHash("token-id")
		if _, _, found, err := p.s.GetByID(p.ctx, link.ID); found || err != nil {
			t.Fatalf("unknown id: found %v, %v", found, err)
		}
		if err := p.s.Create(p.ctx, hash, link, created); err != nil {
			t.Fatal(err)
		}
		gotHash, got, found, err := p.s.GetByID(p.ctx, link.ID)
		if err != nil || !found || gotHash != hash || !reflect.DeepEqual(got, link) {
			t.Fatalf("GetByID = %q, %+v, %v, %v; want %q, %+v", gotHash, got, found, err, hash, link)
		}
		if a, b := p.rdb.PTTL(p.ctx, p.keys.PayLinkID(link.ID)).Val(), p.rdb.PTTL(p.ctx, p.keys.PayLink(hash).Record).Val(); a <= 0 || a-b > time.Second || b-a > time.Second {
			t.Fatalf("index ttl %v, record ttl %v: want the same", a, b)
		}
		// Another link with the same id (a 64-bit hash prefix collision)
		// is refused rather than shadowing the first.
		if err := p.s.Create(p.ctx, linkHash("token-other"), link, created); !errors.Is(err, store.ErrCollision) {
			t.Fatalf("a second link with the same id = %v, want ErrCollision", err)
		}
		revoked := created.Add(time.Minute)
		l := link
		l.Revoked = &revoked
		if err := p.s.Update(p.ctx, hash, l); err != nil {
			t.Fatal(err)
		}
		if _, got, _, _ := p.s.GetByID(p.ctx, link.ID); got.Revoked == nil || !got.Revoked.Equal(revoked) {
			t.Fatalf("revoked = %v, want %v", got.Revoked, revoked)
		}
	})

	t.Run("a record of the sidecar's own version decodes", func(t *testing.T) {
		p := newPayLinks(t, newClient(t), store.PayLinkOptions{})
		hash := linkHash("old")
		old := `{"id":"abc","orderReference":"O-9","amount":500,"currency":"EUR",` +
			`"shopper":{"endUserId":"u-9","lastName":"Berg","locale":"sv_SE","mobilePhone":"+46701234567",` +
			`"nationalIdentificationNumber":"19800101-1234","ip":"192.0.2.1"},` +
			`"successUrl":"https://s/ok","failUrl":"https://s/no","shopperStatement":"S",` +
			`"created":"2026-12-01T09:00:00Z","expiresAt":"2026-12-02T09:00:00Z","attempts":["o1","o2"]}`
		if err := p.rdb.Set(p.ctx, p.keys.Prefix()+":paylink:{"+hash+"}", old, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		got, found, err := p.s.Get(p.ctx, hash)
		want := store.PayLink{ID: "abc", OrderReference: "O-9", Amount: 500, Currency: "EUR",
			Shopper: store.PayLinkShopper{EndUserID: "u-9", LastName: "Berg", Locale: "sv_SE", MobilePhone: "+46701234567",
				NationalIdentificationNumber: "19800101-1234", IP: "192.0.2.1"},
			SuccessURL: "https://s/ok", FailURL: "https://s/no", ShopperStatement: "S",
			Created: created, ExpiresAt: created.Add(24 * time.Hour), Attempts: []string{"o1", "o2"}}
		if err != nil || !found || !reflect.DeepEqual(got, want) {
			t.Fatalf("Get = %+v, %v, %v; want %+v", got, found, err, want)
		}
	})

	t.Run("the click lock holder updates the record, keeping its expiry", func(t *testing.T) {
		p := newPayLinks(t, newClient(t), store.PayLinkOptions{})
		hash := linkHash("token-2")
		if err := p.s.Create(p.ctx, hash, link, created); err != nil {
			t.Fatal(err)
		}
		release := p.lock(hash, time.Minute)
		if !p.locked(hash) {
			t.Fatal("a second click took the held lock")
		}
		l := link
		l.Attempts = append(l.Attempts, "order-1")
		if err := p.s.Update(p.ctx, hash, l); err != nil {
			t.Fatal(err)
		}
		release()
		got, found, err := p.s.Get(p.ctx, hash)
		if err != nil || !found || len(got.Attempts) != 1 || got.Attempts[0] != "order-1" {
			t.Fatalf("after update: %+v %v %v", got, found, err)
		}
		if ttl := p.rdb.PTTL(p.ctx, p.keys.PayLink(hash).Record).Val(); ttl < store.DefaultPayLinkRetention {
			t.Fatalf("update lost the expiry: ttl %v", ttl)
		}
		p.lock(hash, time.Minute)() // released: the next click takes it
	})

	t.Run("an update of a record that expired does not bring it back", func(t *testing.T) {
		p := newPayLinks(t, newClient(t), store.PayLinkOptions{})
		hash := linkHash("gone")
		if err := p.s.Update(p.ctx, hash, link); err != nil {
			t.Fatal(err)
		}
		if _, found, err := p.s.Get(p.ctx, hash); found || err != nil {
			t.Fatalf("found %v, %v; want nothing", found, err)
		}
	})

	t.Run("a lapsed lock taken by another click is not released by the first holder", func(t *testing.T) {
		p := newPayLinks(t, newClient(t), store.PayLinkOptions{})
		hash := linkHash("token-3")
		first := p.lock(hash, time.Minute)
		// The lock lapses (its TTL, or a failover): removing it is the
		// same to the store, without waiting.
		if err := p.rdb.Del(p.ctx, p.keys.PayLink(hash).Click).Err(); err != nil {
			t.Fatal(err)
		}
		second := p.lock(hash, time.Minute)
		first()
		if !p.locked(hash) {
			t.Fatal("the first holder released the second click's lock")
		}
		second()
		if p.locked(hash) {
			t.Fatal("the second holder could not release its own lock")
		}
	})

	t.Run("a link past its retention is not created", func(t *testing.T) {
		p := newPayLinks(t, newClient(t), store.PayLinkOptions{Retention: time.Hour})
		if err := p.s.Create(p.ctx, linkHash("late"), link, link.ExpiresAt.Add(2*time.Hour)); err == nil {
			t.Fatal("Create of a link past its retention succeeded")
		}
	})
}

// RunPayLinksOutage runs the pay-link store through an outage of the
// backend newOutage starts: every operation fails with an error wrapping
// store.ErrUnavailable, and the store works again once the backend is back.
func RunPayLinksOutage(t *testing.T, newOutage NewOutage) {
	t.Run("Redis down: every operation is unavailable, then it recovers", func(t *testing.T) {
		rdb, sw := newOutage(t)
		p := newPayLinks(t, rdb, store.PayLinkOptions{})
		hash := linkHash("token")
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		l := store.PayLink{ID: "x", Currency: "SEK", Amount: 1, Created: now, ExpiresAt: now.Add(time.Hour)}

		sw.Stop()
		ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
		defer cancel()
		for name, op := range map[string]func() error{
			"Create": func() error { return p.s.Create(ctx, hash, l, now) },
			"Get":    func() error { _, _, err := p.s.Get(ctx, hash); return err },
			"Update": func() error { return p.s.Update(ctx, hash, l) },
			"Lock":   func() error { _, _, err := p.s.Lock(ctx, hash, time.Minute); return err },
		} {
			if err := op(); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s with Redis down = %v, want ErrUnavailable", name, err)
			}
		}

		sw.Start()
		deadline := time.Now().Add(recoveryTimeout)
		for {
			err := p.s.Create(p.ctx, hash, l, now)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
				t.Fatalf("Create after recovery = %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, found, err := p.s.Get(p.ctx, hash); !found || err != nil {
			t.Fatalf("Get after recovery = %v, %v", found, err)
		}
	})
}
