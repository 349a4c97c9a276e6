package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// EnvFull runs the failover tests at length (more workers, more rounds of
// lag and failover), for `make reliability`.
const envFull = "TRUSTLY_RELIABILITY_FULL"

// failoverPlan is how long a failover test loads the store, and how.
type failoverPlan struct {
	workers int
	healthy time.Duration // load with the replicas in step, before each lag
	lag     time.Duration // load while the replicas are frozen, then the master dies
	after   time.Duration // load on the new master, after each failover
}

func planFor(t *testing.T) failoverPlan {
	if os.Getenv(envFull) != "" {
		return failoverPlan{workers: 16, healthy: 2 * time.Second, lag: 1200 * time.Millisecond, after: 2 * time.Second}
	}
	if testing.Short() {
		t.Skip("a failover takes seconds")
	}
	return failoverPlan{workers: 6, healthy: 300 * time.Millisecond, lag: 600 * time.Millisecond, after: 300 * time.Millisecond}
}

// replicationCases are the setting under test and the control: without
// WAIT the audit must find losses, or the test could not fail.
var replicationCases = []struct {
	name     string
	repl     store.Replication
	wantLoss bool
}{
	{"wait for all replicas", store.Replication{Acks: store.AllReplicas, Timeout: 100 * time.Millisecond}, false},
	{"control: no wait", store.Replication{Acks: 0}, true},
}

// A Sentinel failover to a replica that lagged loses nothing that was
// answered: no OK to Trustly, no 201, no idempotency claim. The control
// (no WAIT) loses some, measured the same way.
func TestSentinelFailoverLosesNothingAnswered(t *testing.T) {
	t.Parallel() // mostly waiting for Sentinels and Cluster nodes
	plan := planFor(t)
	for _, tc := range replicationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			topo := redistest.NewSentinel(t, 2)
			cfg := failoverConfig(store.ModeSentinel, topo.Addrs(), tc.repl)
			cfg.MasterName = redistest.SentinelMaster
			raw := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redistest.SentinelMaster, SentinelAddrs: topo.Addrs()})
			t.Cleanup(func() { raw.Close() })
			a := runFailover(t, cfg, raw, plan, func(ctx context.Context) {
				old, err := topo.MasterAddr(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var lagging []*redistest.Server
				for _, s := range append([]*redistest.Server{topo.Master}, topo.Replicas...) {
					if s.Addr() != old {
						lagging = append(lagging, s)
					}
				}
				time.Sleep(plan.healthy)
				for _, s := range lagging {
					s.Freeze()
				}
				fill(ctx, t, redis.NewClient(&redis.Options{Addr: old}))
				time.Sleep(plan.lag)
				topo.ServerAt(old).Stop()
				for _, s := range lagging {
					s.Thaw()
				}
				if _, err := topo.WaitFailover(ctx, old, 0); err != nil {
					t.Fatal(err)
				}
			})
			a.check(t, tc.wantLoss)
		})
	}
}

// The same on a Cluster of 3 masters with a replica each: the master of
// some keys dies while its replica lags, and its replica takes over.
func TestClusterFailoverLosesNothingAnswered(t *testing.T) {
	t.Parallel()
	plan := planFor(t)
	for _, tc := range replicationCases {
		if tc.wantLoss && os.Getenv(envFull) == "" {
			continue // the Sentinel test shows the control; a Cluster takes long to form
		}
		t.Run(tc.name, func(t *testing.T) {
			c := redistest.NewReplicatedCluster(t, 3)
			cfg := failoverConfig(store.ModeCluster, c.Addrs(), tc.repl)
			raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
			t.Cleanup(func() { raw.Close() })
			a := runFailover(t, cfg, raw, plan, func(ctx context.Context) {
				time.Sleep(plan.healthy)
				c.Replicas[1].Freeze()
				fill(ctx, t, redis.NewClient(&redis.Options{Addr: c.Masters[1].Addr()}))
				time.Sleep(plan.lag)
				c.Masters[1].Stop()
				c.Replicas[1].Thaw()
				if _, err := c.WaitTakeover(ctx, c.Masters[1]); err != nil {
					t.Fatal(err)
				}
			})
			a.check(t, tc.wantLoss)
		})
	}
}

// fillerSize is how much fill writes into the replication stream: more
// than a loopback socket's buffers hold (a few MB each way), and below the
// default output buffer limit of a replica (64 MB for 60 s).
const fillerSize = 32 << 20

// fill writes fillerSize bytes through master (and closes it), so that
// what follows in its replication stream stays in the master's memory
// while the replicas are frozen. Without it a frozen replica still gets
// every write the kernel buffered for it, reads them once thawed, and the
// failover loses nothing even without WAIT: the control could not fail.
// The key is any this master owns (on a Cluster, not every key is).
func fill(ctx context.Context, t *testing.T, master *redis.Client) {
	t.Helper()
	defer master.Close()
	val := strings.Repeat("x", 1<<20)
	key := ""
	for i := 0; key == ""; i++ {
		k := "fill:" + strconv.Itoa(i)
		err := master.Set(ctx, k, val, time.Minute).Err()
		if err == nil {
			key = k
			break
		}
		if _, moved := redis.IsMovedError(err); !moved || i > 1000 {
			t.Fatalf("fill: %v", err)
		}
	}
	for range fillerSize >> 20 {
		if err := master.Set(ctx, key, val, time.Minute).Err(); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
}

func failoverConfig(mode store.Mode, addrs []string, repl store.Replication) store.RedisConfig {
	return store.RedisConfig{
		Mode: mode, Addrs: addrs,
		DialTimeout: 300 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond, PoolTimeout: 500 * time.Millisecond,
		MaxRetries: 1, Replication: &repl,
	}
}

// ledger is what the simulated shop and Trustly were told.
type ledger struct {
	mu       sync.Mutex
	deposits map[string]int    // idempotency key → Deposits made (Trustly called)
	answered map[string]string // idempotency key → order id answered with 201
	okd      map[string]string // notificationid → order id answered OK
	failures int               // answers that were not OK/201 (retried)
}

// audit is what a failover lost of what was answered.
type audit struct {
	okLost, createdGone, idemLost, secondDeposits int
	deposits, answered, okd, failures             int
}

func (a audit) String() string {
	return fmt.Sprintf("OK'd-but-lost=%d created-but-gone=%d idempotency-records-lost=%d second-Deposits=%d "+
		"(Deposits=%d 201s=%d OKs=%d non-OK answers=%d)",
		a.okLost, a.createdGone, a.idemLost, a.secondDeposits, a.deposits, a.answered, a.okd, a.failures)
}

func (a audit) check(t *testing.T, wantLoss bool) {
	t.Helper()
	t.Logf("audit: %s", a)
	if a.deposits == 0 || a.okd == 0 {
		t.Fatalf("the load answered nothing: %s", a)
	}
	lost := a.okLost + a.createdGone + a.idemLost + a.secondDeposits
	switch {
	case wantLoss && lost == 0:
		t.Errorf("control without WAIT lost nothing: the test cannot tell WAIT from no WAIT")
	case !wantLoss && lost != 0:
		t.Errorf("a failover lost what was answered: %s", a)
	}
}

// runFailover loads the store with shop calls (claim, Deposit, complete)
// and notifications while fail runs, then audits through raw.
func runFailover(t *testing.T, cfg store.RedisConfig, raw redis.UniversalClient, plan failoverPlan, fail func(ctx context.Context)) audit {
	t.Helper()
	prefix := redistest.Prefix(t)
	db, err := store.Open(cfg, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	idem := db.Idempotency(store.IdempotencyOptions{LockTTL: 300 * time.Millisecond})
	orders := db.Orders(store.OrdersOptions{})
	keys, _ := store.NewKeys(prefix)

	l := &ledger{deposits: map[string]int{}, answered: map[string]string{}, okd: map[string]string{}}
	ctx := t.Context()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range plan.workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				k := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				if !retry(stop, func() bool { return shop(ctx, idem, orders, l, k) }) {
					return
				}
				if !retry(stop, func() bool { return notify(ctx, orders, l, k) }) {
					return
				}
			}
		})
	}
	fail(ctx)
	time.Sleep(plan.after)
	close(stop)
	wg.Wait()

	// Every shop retries once more after the failover: a key whose record
	// is gone is claimed afresh, and the shop's request makes a second
	// Deposit.
	// Through a client opened now: go-redis's Cluster client re-reads the
	// slots lazily, and a write that does not wait (the control) would go
	// on dialling the dead master for a while (the waiting writes make it
	// re-read them when they fail).
	time.Sleep(400 * time.Millisecond) // the claims' locks lapse
	db2, err := store.Open(cfg, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	idem2 := db2.Idempotency(store.IdempotencyOptions{LockTTL: 300 * time.Millisecond})
	for k := range l.deposits {
		if _, err := retryBusy(ctx, func() (bool, error) { return shopRetry(ctx, idem2, l, k) }); err != nil {
			t.Fatalf("retry %s after the failover: %v", k, err)
		}
	}
	return l.audit(ctx, t, raw, keys)
}

// retry runs op until it succeeds (true) or stop closes (false).
func retry(stop chan struct{}, op func() bool) bool {
	for {
		select {
		case <-stop:
			return false
		default:
		}
		if op() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func retryBusy(ctx context.Context, op func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := op()
		if err == nil || time.Now().After(deadline) {
			return ok, err
		}
		if !errors.Is(err, store.ErrInProgress) && !errors.Is(err, store.ErrUnavailable) {
			return ok, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

const pointStarted = "started"

// shop is one shop call as the engine makes it: claim, mark the call
// started, create the order (on one master, all three in the claim's
// script: ClaimCreate), call Trustly (counted), record the acceptance with
// the answer (store.Along). It reports whether the shop got an answer (201
// or a definite refusal).
func shop(ctx context.Context, idem *store.RedisIdempotency, orders *store.RedisOrders, l *ledger, k string) bool {
	id := "o-" + k
	o := store.Order{ID: id, Flow: "deposit", State: "new", MessageID: "m-" + k, Currency: "EUR", Amount: 100, Created: time.Now()}
	var c store.Claim
	var stored *store.Outcome
	var err error
	withOrder := idem.ClaimCreates()
	if withOrder {
		c, stored, _, err = idem.ClaimCreate(ctx, "pay", k, "fp-"+k, pointStarted, store.NewOrder{Order: o, OpenUntil: time.Now().Add(time.Hour)})
	} else {
		c, stored, err = idem.Claim(ctx, "pay", k, "fp-"+k)
	}
	if err != nil {
		l.fail()
		return false
	}
	if stored != nil {
		l.answer(k, string(stored.Body))
		return true
	}
	if c.RecoveryPoint == pointStarted {
		return true // interrupted: the engine answers 409, no second call
	}
	if !withOrder {
		if err := idem.Progress(ctx, c, pointStarted); err != nil {
			_ = idem.Release(ctx, c)
			l.fail()
			return false
		}
		err = orders.CreateOpen(ctx, o, time.Now().Add(time.Hour))
		if err != nil && !errors.Is(err, store.ErrExists) {
			_ = idem.Release(ctx, c)
			l.fail()
			return false
		}
	}
	l.mu.Lock()
	l.deposits[k]++
	l.mu.Unlock()
	// As the engine records Trustly's acceptance: the transition, the
	// orderid entry and the answer in one round trip (store.Along). The
	// shop's 201 depends on the answer alone.
	tid := "T-" + k
	answer := idem.CompleteAlong(c, store.Outcome{Code: "201", Body: []byte(id)})
	_, _ = orders.ApplyAlong(ctx, store.Transition{OrderID: id, Event: "accepted", Targets: map[string]string{"new": "started"},
		Set: store.OrderPatch{TrustlyOrderID: tid}, Now: time.Now()}, orders.IndexAlong(tid, id), answer)
	if err := answer.Err(); err != nil {
		l.fail()
		return false // the shop gets 503 and retries
	}
	l.answer(k, id)
	return true
}

// shopRetry is the shop's retry after the failover; a fresh claim makes a
// second Deposit.
func shopRetry(ctx context.Context, idem *store.RedisIdempotency, l *ledger, k string) (bool, error) {
	c, stored, err := idem.Claim(ctx, "pay", k, "fp-"+k)
	if err != nil {
		return false, err
	}
	if stored == nil && c.RecoveryPoint != pointStarted {
		l.mu.Lock()
		l.deposits[k]++
		l.mu.Unlock()
	}
	return true, nil
}

// notify is Trustly's credit notification for k's order; it reports
// whether it was answered OK.
func notify(ctx context.Context, orders *store.RedisOrders, l *ledger, k string) bool {
	id, nid := "o-"+k, "n-"+k
	_, err := orders.Apply(ctx, store.Transition{OrderID: id, Event: "credit",
		Targets: map[string]string{"new": "paid", "paid": "paid"}, NotificationID: nid, Answer: "OK", Now: time.Now()})
	if errors.Is(err, store.ErrNotFound) {
		return true // no order: answered, but not OK'd for it (counted as gone)
	}
	if err != nil {
		l.fail()
		return false
	}
	l.mu.Lock()
	l.okd[nid] = id
	l.mu.Unlock()
	return true
}

func (l *ledger) fail() {
	l.mu.Lock()
	l.failures++
	l.mu.Unlock()
}

func (l *ledger) answer(k, id string) {
	l.mu.Lock()
	l.answered[k] = id
	l.mu.Unlock()
}

func (l *ledger) audit(ctx context.Context, t *testing.T, raw redis.UniversalClient, keys store.Keys) audit {
	t.Helper()
	a := audit{deposits: len(l.deposits), answered: len(l.answered), okd: len(l.okd), failures: l.failures}
	for nid, id := range l.okd {
		n, err := raw.HExists(ctx, keys.Order(id).Dedupe, nid).Result()
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		if !n {
			a.okLost++
		}
	}
	for k, n := range l.deposits {
		if n > 1 {
			a.secondDeposits += n - 1
		}
		// Trustly was called for k: its order must exist, and its
		// idempotency record must say the call started or ended.
		exists, err := raw.Exists(ctx, keys.Order("o-"+k).Order).Result()
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		if exists == 0 {
			a.createdGone++
		}
		rec, err := raw.HGetAll(ctx, keys.Idempotency("pay", k).Record).Result()
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		if rec["state"] != "done" && rec["point"] != pointStarted {
			a.idemLost++
		}
	}
	return a
}
