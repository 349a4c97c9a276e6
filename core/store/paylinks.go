package store

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrCollision: a pay link with that token hash exists already. 256 random
// bits make it impossible in practice; it is never overwritten.
var ErrCollision = errors.New("store: pay link token collision")

// DefaultPayLinkRetention is how long a record outlives its link's expiry,
// so that a click on a paid link still says "paid" rather than "unknown".
const DefaultPayLinkRetention = 90 * 24 * time.Hour

// PayLink is one stored pay link. The token itself is never stored: the
// record is found by the SHA-256 of the token, so a copy of Redis does not
// hand out payable links. The JSON is the record's stored form.
type PayLink struct {
	ID               string         `json:"id"` // the first hex digits of the token's hash: safe to log and show
	OrderReference   string         `json:"orderReference"`
	Amount           int64          `json:"amount"` // minor units
	Currency         string         `json:"currency"`
	Shopper          PayLinkShopper `json:"shopper"`
	SuccessURL       string         `json:"successUrl"`
	FailURL          string         `json:"failUrl"`
	ShopperStatement string         `json:"shopperStatement"`
	Created          time.Time      `json:"created"`
	ExpiresAt        time.Time      `json:"expiresAt"`
	// Attempts are the engine's Deposit orders made by clicks, oldest first.
	Attempts []string `json:"attempts,omitempty"`
	// Revoked is when the shop withdrew the link; a click then makes no
	// Deposit.
	Revoked *time.Time `json:"revoked,omitempty"`
}

// PayLinkShopper is who pays a link, as the Deposit of a click needs it.
type PayLinkShopper struct {
	EndUserID                    string `json:"endUserId"`
	FirstName                    string `json:"firstName,omitempty"`
	LastName                     string `json:"lastName,omitempty"`
	Email                        string `json:"email,omitempty"`
	Country                      string `json:"country,omitempty"`
	Locale                       string `json:"locale,omitempty"`
	MobilePhone                  string `json:"mobilePhone,omitempty"`
	NationalIdentificationNumber string `json:"nationalIdentificationNumber,omitempty"`
	// UnchangeableNationalIdentificationNumber: see engine.PaymentRequest.
	UnchangeableNationalIdentificationNumber bool   `json:"unchangeableNationalIdentificationNumber,omitempty"`
	IP                                       string `json:"ip,omitempty"`
}

// PayLinkOptions tune RedisPayLinks; zero values take the defaults.
type PayLinkOptions struct {
	Retention time.Duration // how long a record outlives its link's expiry
}

// RedisPayLinks keeps pay links on Redis, one JSON string per link, and a
// click lock per link: every change of a record is made by the holder of
// its click lock. See LAYOUT.md.
type RedisPayLinks struct {
	rdb       redis.UniversalClient
	repl      *replicator
	keys      Keys
	retention time.Duration
}

// NewRedisPayLinks returns the pay-link store on rdb under keys.
func NewRedisPayLinks(rdb redis.UniversalClient, keys Keys, opts PayLinkOptions) *RedisPayLinks {
	if opts.Retention <= 0 {
		opts.Retention = DefaultPayLinkRetention
	}
	return &RedisPayLinks{rdb: rdb, repl: newReplicator(rdb, keys, Replication{}), keys: keys, retention: opts.Retention}
}

var (
	//go:embed lua/paylink_release.lua
	payLinkReleaseLua    string
	payLinkReleaseScript = redis.NewScript(payLinkReleaseLua)
)

// Create stores a new link under its token's hash, to live until the
// retention after its expiry as seen at now. A hash present already is
// ErrCollision.
func (s *RedisPayLinks) Create(ctx context.Context, hash string, l PayLink, now time.Time) error {
	ttl := l.ExpiresAt.Sub(now) + s.retention
	if ttl <= 0 {
		return fmt.Errorf("store: create pay link %s: it expired %v ago, past its retention", l.ID, now.Sub(l.ExpiresAt))
	}
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("store: create pay link %s: encode: %w", l.ID, err)
	}
	// The index first: a record that exists can then always be found by
	// its id, and an index left by a failed record write points nowhere.
	// The shop is given the link once this returns: both must survive a
	// failover first (replication.go).
	w := s.repl.begin()
	defer w.close()
	for _, kv := range []struct {
		key string
		val any
	}{{s.keys.PayLinkID(l.ID), hash}, {s.keys.PayLink(hash).Record, b}} {
		rc, err := w.on(ctx, kv.key)
		if err != nil {
			return err
		}
		ok, err := rc.SetNX(ctx, kv.key, kv.val, ttl).Result()
		if err != nil {
			return w.fail(ctx, "create pay link", err)
		}
		if !ok {
			return fmt.Errorf("store: create pay link %s: %w", l.ID, ErrCollision)
		}
	}
	return w.wait(ctx, "create pay link")
}

// GetByID returns the link with the id the shop API shows, and its token's
// hash; found false when there is none (or it is past its retention).
func (s *RedisPayLinks) GetByID(ctx context.Context, id string) (hash string, l PayLink, found bool, err error) {
	hash, err = s.rdb.Get(ctx, s.keys.PayLinkID(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", PayLink{}, false, nil
	}
	if err != nil {
		return "", PayLink{}, false, wrapRedis(ctx, "get pay link", err)
	}
	l, found, err = s.Get(ctx, hash)
	return hash, l, found, err
}

// Get returns the link stored under hash, or found false.
func (s *RedisPayLinks) Get(ctx context.Context, hash string) (l PayLink, found bool, err error) {
	b, err := s.rdb.Get(ctx, s.keys.PayLink(hash).Record).Bytes()
	if errors.Is(err, redis.Nil) {
		return PayLink{}, false, nil
	}
	if err != nil {
		return PayLink{}, false, wrapRedis(ctx, "get pay link", err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return PayLink{}, false, fmt.Errorf("store: pay link %s: decode: %w", l.ID, err)
	}
	return l, true, nil
}

// Update rewrites an existing record, keeping its expiry; a record that
// expired meanwhile stays gone. Only the holder of the click lock calls it.
func (s *RedisPayLinks) Update(ctx context.Context, hash string, l PayLink) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("store: update pay link %s: encode: %w", l.ID, err)
	}
	// The click's outcome (the attempt it started, the link used) is what
	// the next click goes by: it must survive a failover before the
	// shopper is sent on.
	key := s.keys.PayLink(hash).Record
	w := s.repl.begin()
	defer w.close()
	rc, err := w.on(ctx, key)
	if err != nil {
		return err
	}
	err = rc.SetArgs(ctx, key, b, redis.SetArgs{Mode: "XX", KeepTTL: true}).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return w.fail(ctx, "update pay link", err)
	}
	return w.wait(ctx, "update pay link")
}

// Lock takes the link's click lock for ttl; ok false: another click holds
// it. release gives it back unless it lapsed and another click took it
// meanwhile (its fencing token no longer matches); a lock that release
// fails to delete lapses on its own.
func (s *RedisPayLinks) Lock(ctx context.Context, hash string, ttl time.Duration) (release func(), ok bool, err error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	fence := hex.EncodeToString(b[:])
	k := s.keys.PayLink(hash).Click
	// The holder calls Trustly: a lock a failover could undo would let a
	// second click call it too (as an idempotency claim, replication.go).
	w := s.repl.begin()
	defer w.close()
	rc, err := w.on(ctx, k)
	if err != nil {
		return nil, false, err
	}
	ok, err = rc.SetNX(ctx, k, fence, ttl).Result()
	if err != nil {
		return nil, false, w.fail(ctx, "lock pay link", err)
	}
	if !ok {
		return nil, false, nil
	}
	if err := w.wait(ctx, "lock pay link"); err != nil {
		_ = payLinkReleaseScript.Run(context.WithoutCancel(ctx), rc, []string{k}, fence).Err()
		return nil, false, err
	}
	return func() {
		_ = payLinkReleaseScript.Run(context.WithoutCancel(ctx), s.rdb, []string{k}, fence).Err()
	}, true, nil
}
