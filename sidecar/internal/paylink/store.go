package paylink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// payLink is one stored pay link. The token itself is never stored: the
// record is found by the SHA-256 of the token, so a copy of Redis does not
// hand out payable links.
type payLink struct {
	ID               string          `json:"id"` // the first hex digits of the token's hash: safe to log and show
	OrderReference   string          `json:"orderReference"`
	Amount           int64           `json:"amount"`
	Currency         string          `json:"currency"`
	Shopper          shopapi.Shopper `json:"shopper"`
	SuccessURL       string          `json:"successUrl"`
	FailURL          string          `json:"failUrl"`
	ShopperStatement string          `json:"shopperStatement"`
	Created          time.Time       `json:"created"`
	ExpiresAt        time.Time       `json:"expiresAt"`
	// Attempts are the engine's Deposit orders made by clicks, oldest first.
	Attempts []string `json:"attempts,omitempty"`
}

// payLinkRetention is how long a record outlives its expiry, so that a
// click on a paid link still says "paid" rather than "unknown".
const payLinkRetention = 90 * 24 * time.Hour

// Store keeps pay links in Redis, one JSON string per link:
//
//	<prefix>:paylink:{<sha256 of token>}         the record (expires retention after the link)
//	<prefix>:paylink:{<sha256 of token>}:click   fencing token of the click in progress
//
// Every change of a record is made by the holder of its click lock.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewStore is the pay-link store on rdb under the key prefix.
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) key(hash string) string { return s.prefix + ":paylink:{" + hash + "}" }

func unavailable(op string, err error) error {
	return fmt.Errorf("pay link store: %s: %w: %w", op, store.ErrUnavailable, err)
}

// create stores a new link; a hash already present is an error (a token
// collision, which 256 random bits make impossible in practice).
func (s *Store) create(ctx context.Context, hash string, l payLink, now time.Time) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("pay link: encode: %w", err)
	}
	ttl := l.ExpiresAt.Sub(now) + payLinkRetention
	ok, err := s.rdb.SetNX(ctx, s.key(hash), b, ttl).Result()
	if err != nil {
		return unavailable("create", err)
	}
	if !ok {
		return errors.New("pay link: token collision")
	}
	return nil
}

// get returns the link, or found false.
func (s *Store) get(ctx context.Context, hash string) (l payLink, found bool, err error) {
	b, err := s.rdb.Get(ctx, s.key(hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return payLink{}, false, nil
	}
	if err != nil {
		return payLink{}, false, unavailable("get", err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return payLink{}, false, fmt.Errorf("pay link %s: decode: %w", l.ID, err)
	}
	return l, true, nil
}

// update rewrites an existing record, keeping its expiry. Only the holder
// of the click lock calls it.
func (s *Store) update(ctx context.Context, hash string, l payLink) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("pay link: encode: %w", err)
	}
	if err := s.rdb.SetArgs(ctx, s.key(hash), b, redis.SetArgs{Mode: "XX", KeepTTL: true}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("update", err)
	}
	return nil
}

// releaseScript deletes the lock only if it still holds our fence: a lock
// that expired and was taken by another click is left alone.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// lock takes the link's click lock for ttl. ok false: another click holds it.
func (s *Store) lock(ctx context.Context, hash string, ttl time.Duration) (release func(), ok bool, err error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	fence := hex.EncodeToString(b[:])
	k := s.key(hash) + ":click"
	ok, err = s.rdb.SetNX(ctx, k, fence, ttl).Result()
	if err != nil {
		return nil, false, unavailable("lock", err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		// A lock we fail to release expires on its own.
		_ = releaseScript.Run(context.WithoutCancel(ctx), s.rdb, []string{k}, fence).Err()
	}, true, nil
}
