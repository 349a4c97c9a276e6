package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mandate states of an Account.
const (
	MandateActive   = "active"
	MandateInactive = "inactive"
)

// Account is a shopper's bank account as Trustly's account notification
// described it. Only masked details are kept (no full account number).
type Account struct {
	AccountID     string    `json:"accountid"`
	Verified      bool      `json:"verified"`
	Bank          string    `json:"bank,omitempty"`
	ClearingHouse string    `json:"clearinghouse,omitempty"`
	Descriptor    string    `json:"descriptor,omitempty"`
	LastDigits    string    `json:"lastdigits,omitempty"`
	Mandate       string    `json:"mandate,omitempty"` // MandateActive, MandateInactive or ""
	Updated       time.Time `json:"updated"`
}

// Accounts is what the store knows of one shopper's accounts.
type Accounts struct {
	All []Account
	// Express is the verified account a returning shopper's Deposit may
	// carry (Trustly Express); Mandate the account whose mandate is active.
	Express, Mandate string
}

//go:embed lua/account_save.lua
var accountSaveLua string

var accountSaveScript = redis.NewScript(accountSaveLua)

// SaveAccount stores a for the shopper endUserID. Saving the same account
// again is harmless, so it may run on every delivery of a notification.
func (s *RedisOrders) SaveAccount(ctx context.Context, endUserID string, a Account) error {
	if endUserID == "" || a.AccountID == "" {
		return errors.New("store: save account: enduserid and accountid are required")
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("store: save account: %w", err)
	}
	verified := "0"
	if a.Verified {
		verified = "1"
	}
	// A follow-up of a notification (an active mandate), answered only
	// after it: it waits for the replicas like the transition.
	key := s.keys.Accounts(endUserID)
	w := s.repl.begin()
	defer w.close()
	rc, err := w.on(ctx, key)
	if err != nil {
		return err
	}
	if err := accountSaveScript.Run(ctx, rc, []string{key},
		a.AccountID, string(b), verified, a.Mandate, s.retention).Err(); err != nil {
		return w.fail(ctx, "save account", err)
	}
	return w.wait(ctx, "save account")
}

// Accounts returns the shopper's accounts; none is not an error.
func (s *RedisOrders) Accounts(ctx context.Context, endUserID string) (Accounts, error) {
	f, err := s.rdb.HGetAll(ctx, s.keys.Accounts(endUserID)).Result()
	if err != nil {
		return Accounts{}, wrapRedis(ctx, "read accounts", err)
	}
	out := Accounts{Express: f["_express"], Mandate: f["_mandate"]}
	for k, v := range f {
		if !strings.HasPrefix(k, "acct:") {
			continue
		}
		var a Account
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return Accounts{}, fmt.Errorf("store: account %s of %s: %w", k, endUserID, err)
		}
		out.All = append(out.All, a)
	}
	return out, nil
}

// SaveBalances stores the balances one Balance call returned.
func (s *RedisOrders) SaveBalances(ctx context.Context, balances map[string]int64, at time.Time) error {
	f := map[string]any{"_at": ms(at)}
	for c, v := range balances {
		f[c] = itoa(v)
	}
	if err := s.rdb.HSet(ctx, s.keys.Balance(), f).Err(); err != nil {
		return wrapRedis(ctx, "save balances", err)
	}
	return nil
}

// Balances returns the last known balances and when they were fetched
// (zero when never).
func (s *RedisOrders) Balances(ctx context.Context) (map[string]int64, time.Time, error) {
	f, err := s.rdb.HGetAll(ctx, s.keys.Balance()).Result()
	if err != nil {
		return nil, time.Time{}, wrapRedis(ctx, "read balances", err)
	}
	out := map[string]int64{}
	for k, v := range f {
		if k != "_at" {
			out[k] = atoi(v)
		}
	}
	return out, fromMS(f["_at"]), nil
}

// TakeBalanceRefresh reports whether this process may call Balance now for
// a refund: one such call per maxAge over all processes sharing the Redis,
// so concurrent refunds share it.
func (s *RedisOrders) TakeBalanceRefresh(ctx context.Context, maxAge time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.keys.BalanceRefreshSlot(), "1", maxAge).Result()
	if err != nil {
		return false, wrapRedis(ctx, "take balance refresh slot", err)
	}
	return ok, nil
}

// TakeBalanceSlot reports whether this process may call Balance now: one
// call per interval over all sidecar processes sharing the Redis, since
// Trustly asks for at most one call every 15 minutes.
func (s *RedisOrders) TakeBalanceSlot(ctx context.Context, interval time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.keys.BalanceSlot(), "1", interval).Result()
	if err != nil {
		return false, wrapRedis(ctx, "take balance slot", err)
	}
	return ok, nil
}
