package engine_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

type idemFixture struct {
	t    *testing.T
	ctx  context.Context
	rdb  redis.UniversalClient
	keys store.Keys
	idem *store.RedisIdempotency
	// via, when set, is the store Idempotent uses instead of idem.
	via  store.Idempotency
	runs atomic.Int32
}

func newIdem(t *testing.T, lockTTL time.Duration) *idemFixture {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(t)})
	t.Cleanup(func() { rdb.Close() })
	k, err := store.NewKeys(redistest.Prefix(t))
	if err != nil {
		t.Fatal(err)
	}
	return &idemFixture{t: t, ctx: context.Background(), rdb: rdb, keys: k,
		idem: store.NewRedisIdempotency(rdb, k, store.IdempotencyOptions{LockTTL: lockTTL})}
}

// do sends one request with key and fingerprint fp; run counts its runs.
// It returns the outcome's code and body, whether it was replayed, and
// checks that a request that was neither replayed nor run has an error
// and no outcome.
func (f *idemFixture) do(ctx context.Context, key, fp string, run func(ctx context.Context) (store.Outcome, error)) (string, string, bool, error) {
	f.t.Helper()
	before := f.runs.Load()
	var idem store.Idempotency = f.idem
	if f.via != nil {
		idem = f.via
	}
	res, err := engine.Idempotent(ctx, idem, "shop", key, fp, func(ctx context.Context) (store.Outcome, error) {
		f.runs.Add(1)
		return run(ctx)
	})
	ran := f.runs.Load() != before
	switch {
	case res.Replayed && res.Ran:
		f.t.Errorf("result both replayed and ran: %+v", res)
	case res.Ran != ran:
		f.t.Errorf("result Ran = %t, but run ran: %t", res.Ran, ran)
	case !res.Replayed && !res.Ran && (err == nil || res.Outcome.Code != "" || res.Outcome.Body != nil):
		f.t.Errorf("nothing ran: result %+v, err %v; want an error and no outcome", res, err)
	}
	return res.Outcome.Code, string(res.Outcome.Body), res.Replayed, err
}

func respond(code, body string, err error) func(context.Context) (store.Outcome, error) {
	return func(context.Context) (store.Outcome, error) {
		return store.Outcome{Code: code, Body: []byte(body)}, err
	}
}

func wantCode(t *testing.T, err error, code string, sentinel error) {
	t.Helper()
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Code != code || (sentinel != nil && !errors.Is(err, sentinel)) {
		t.Fatalf("err = %v, want code %s wrapping %v", err, code, sentinel)
	}
}

func TestIdempotentFirstRunsRepeatsReplay(t *testing.T) {
	f := newIdem(t, 0)
	st, body, replayed, err := f.do(f.ctx, "k1", "fp", respond("201", `{"id":"o1"}`, nil))
	if st != "201" || body != `{"id":"o1"}` || replayed || err != nil {
		t.Fatalf("first = %s %s %v %v", st, body, replayed, err)
	}
	st, body, replayed, err = f.do(f.ctx, "k1", "fp", respond("500", "never", nil))
	if st != "201" || body != `{"id":"o1"}` || !replayed || err != nil || f.runs.Load() != 1 {
		t.Fatalf("repeat = %s %s %v %v after %d runs; want the first response replayed", st, body, replayed, err, f.runs.Load())
	}
	_, _, _, err = f.do(f.ctx, "k1", "other-fp", respond("201", "", nil))
	wantCode(t, err, engine.CodeIdempotencyKeyReused, store.ErrKeyReused)
	if engine.KindOf(err) != engine.KindInvalid || f.runs.Load() != 1 {
		t.Fatalf("reused key: kind %s, %d runs", engine.KindOf(err), f.runs.Load())
	}
}

func TestIdempotentRepeatWhileRunningIsInProgress(t *testing.T) {
	f := newIdem(t, 0)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, _, _, err := f.do(f.ctx, "k1", "fp", func(context.Context) (store.Outcome, error) {
			close(started)
			<-release
			return store.Outcome{Code: "200", Body: []byte("ok")}, nil
		})
		done <- err
	}()
	<-started
	_, _, _, err := f.do(f.ctx, "k1", "fp", respond("200", "second", nil))
	wantCode(t, err, engine.CodeIdempotencyInProgress, store.ErrInProgress)
	if engine.KindOf(err) != engine.KindConflict {
		t.Fatalf("kind = %s, want conflict", engine.KindOf(err))
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestIdempotentReleasesRefusalsAndStoresUnknownOutcomes(t *testing.T) {
	f := newIdem(t, 0)
	refused := &engine.Error{Kind: engine.KindConflict, Code: engine.CodeAmountExceedsRefundable}
	st, body, _, err := f.do(f.ctx, "k1", "fp", respond("409", "too much", refused))
	if st != "409" || body != "too much" || !errors.Is(err, refused) {
		t.Fatalf("refusal = %s %s %v", st, body, err)
	}
	// Released: the fixed request runs under the same key.
	st, _, replayed, err := f.do(f.ctx, "k1", "fixed-fp", respond("201", "done", nil))
	if st != "201" || replayed || err != nil || f.runs.Load() != 2 {
		t.Fatalf("after the refusal = %s %v %v, %d runs", st, replayed, err, f.runs.Load())
	}

	// Every refusal kind releases, whatever code the caller gave its outcome.
	for i, kind := range []engine.Kind{engine.KindInvalid, engine.KindNotFound, engine.KindConflict} {
		key := "refused-" + string(rune('a'+i))
		refused := &engine.Error{Kind: kind, Code: "refused"}
		if _, _, _, err := f.do(f.ctx, key, "fp", respond("any", "no", refused)); !errors.Is(err, refused) {
			t.Fatalf("%s: err = %v", kind, err)
		}
		if st, _, replayed, err := f.do(f.ctx, key, "fp", respond("201", "done", nil)); st != "201" || replayed || err != nil {
			t.Fatalf("%s: after the refusal = %s %v %v; want a fresh run", kind, st, replayed, err)
		}
	}

	for i, failure := range []struct {
		code string
		err  error
	}{
		{"502", &engine.Error{Kind: engine.KindUpstream, Code: engine.CodeOutcomeUnknown}},
		{"503", &engine.Error{Kind: engine.KindUnavailable, Code: engine.CodeStoreUnavailable}},
		{"500", errors.New("a bug")},
		// A store outage is stored whatever the kind that wraps it.
		{"503", &engine.Error{Kind: engine.KindConflict, Code: "odd", Err: store.ErrUnavailable}},
		{"422", &engine.Error{Kind: engine.KindNotFound, Code: "odd", Err: fmt.Errorf("read: %w", store.ErrUnavailable)}},
	} {
		key := "unknown-" + string(rune('a'+i))
		st, _, _, err := f.do(f.ctx, key, "fp", respond(failure.code, "failed", failure.err))
		if st != failure.code || !errors.Is(err, failure.err) {
			t.Fatalf("%v: = %s, %v", failure.err, st, err)
		}
		runs := f.runs.Load()
		st, body, replayed, err := f.do(f.ctx, key, "fp", respond("201", "second run", nil))
		if st != failure.code || body != "failed" || !replayed || err != nil || f.runs.Load() != runs {
			t.Fatalf("%v: repeat = %s %s %v %v; want the stored failure, no second run", failure.err, st, body, replayed, err)
		}
	}
}

// A store failure before anything went to Trustly (the order could not be
// written, or not replicated) gives the key back: the shop's retry with the
// same key runs again rather than getting the 503 replayed for 24 h.
func TestIdempotentReleasesAStoreFailureBeforeTheCall(t *testing.T) {
	f := newIdem(t, 0)
	failed := fmt.Errorf("%w (%w)", &engine.Error{Kind: engine.KindUnavailable, Code: engine.CodeStoreUnavailable, Err: store.ErrUnavailable}, engine.ErrNothingSent)
	if st, _, _, err := f.do(f.ctx, "k-before", "fp", respond("503", "down", failed)); st != "503" || !errors.Is(err, engine.ErrNothingSent) {
		t.Fatalf("first = %s %v", st, err)
	}
	st, body, replayed, err := f.do(f.ctx, "k-before", "fp", respond("201", "made", nil))
	if st != "201" || body != "made" || replayed || err != nil || f.runs.Load() != 2 {
		t.Fatalf("retry = %s %s replayed %v %v, %d runs; want a second run", st, body, replayed, err, f.runs.Load())
	}
}

func TestIdempotentStoresTheOutcomeWhenTheCallerGoesAway(t *testing.T) {
	f := newIdem(t, 0)
	ctx, cancel := context.WithCancel(f.ctx)
	st, _, _, err := f.do(ctx, "k1", "fp", func(context.Context) (store.Outcome, error) {
		cancel() // the shop hung up while the request ran
		return store.Outcome{Code: "201", Body: []byte("created")}, nil
	})
	if st != "201" || err != nil {
		t.Fatalf("= %s, %v", st, err)
	}
	if st, body, replayed, _ := f.do(f.ctx, "k1", "fp", respond("500", "", nil)); st != "201" || body != "created" || !replayed {
		t.Fatalf("repeat = %s %s %v", st, body, replayed)
	}
}

// beating is the store with every heartbeat (a Progress without a
// recovery point) reported on beats.
type beating struct {
	*store.RedisIdempotency
	beats chan struct{}
}

func (b beating) Progress(ctx context.Context, c store.Claim, point string) error {
	err := b.RedisIdempotency.Progress(ctx, c, point)
	if point == "" && err == nil {
		select {
		case b.beats <- struct{}{}:
		default:
		}
	}
	return err
}

func TestIdempotentHeartbeatKeepsALongRequestClaimed(t *testing.T) {
	const lock = 300 * time.Millisecond
	f := newIdem(t, lock)
	beats := make(chan struct{}, 1)
	f.via = beating{f.idem, beats}
	st, _, _, err := f.do(f.ctx, "k1", "fp", func(ctx context.Context) (store.Outcome, error) {
		// The request outlives its lock: heartbeats come a third of the
		// lock apart, so the fourth comes after the lock would have
		// lapsed. After each the key is still claimed.
		for i := range 4 {
			select {
			case <-beats:
			case <-ctx.Done():
				return store.Outcome{}, context.Cause(ctx)
			case <-time.After(10 * lock):
				return store.Outcome{}, fmt.Errorf("no heartbeat %d within %v", i+1, 10*lock)
			}
			if _, _, err := f.idem.Claim(f.ctx, "shop", "k1", "fp"); !errors.Is(err, store.ErrInProgress) {
				return store.Outcome{}, fmt.Errorf("repeat after heartbeat %d = %v, want in progress", i+1, err)
			}
		}
		return store.Outcome{Code: "200", Body: []byte("slow")}, nil
	})
	if st != "200" || err != nil {
		t.Fatalf("slow request = %s, %v", st, err)
	}
	if st, body, replayed, _ := f.do(f.ctx, "k1", "fp", respond("500", "", nil)); st != "200" || body != "slow" || !replayed {
		t.Fatalf("after = %s %s %v", st, body, replayed)
	}
}

func TestIdempotentLostClaimCancelsTheRun(t *testing.T) {
	const lock = 150 * time.Millisecond
	f := newIdem(t, lock)
	started := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		_, _, _, err := f.do(f.ctx, "k1", "fp", func(ctx context.Context) (store.Outcome, error) {
			close(started)
			<-ctx.Done()
			return store.Outcome{}, context.Cause(ctx)
		})
		result <- err
	}()
	<-started
	// The lock vanishes (as after a failover) and another request takes
	// the key over: the first holder's next heartbeat is fenced out.
	if err := f.rdb.Del(f.ctx, f.keys.Idempotency("shop", "k1").Lock).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.idem.Claim(f.ctx, "shop", "k1", "fp"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if !errors.Is(err, store.ErrFenced) {
			t.Fatalf("run ended with %v, want ErrFenced", err)
		}
	case <-time.After(10 * lock):
		t.Fatal("the run was not cancelled after its claim was lost")
	}
}

func TestIdempotentNeverRerunsAnInterruptedRequest(t *testing.T) {
	const lock = 150 * time.Millisecond
	f := newIdem(t, lock)
	dead := make(chan struct{})
	go func() {
		defer close(dead)
		f.do(f.ctx, "k1", "fp", func(context.Context) (store.Outcome, error) {
			runtime.Goexit() // the process dies mid-request
			return store.Outcome{}, nil
		})
	}()
	<-dead
	// Its lock lapses, as after lock TTL: removed here rather than waited
	// for. The dead holder's heartbeat stopped with it.
	if err := f.rdb.Del(f.ctx, f.keys.Idempotency("shop", "k1").Lock).Err(); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := f.do(f.ctx, "k1", "fp", respond("201", "second run", nil))
	wantCode(t, err, engine.CodeIdempotencyInterrupted, nil)
	if f.runs.Load() != 1 {
		t.Fatalf("%d runs, want the interrupted one only", f.runs.Load())
	}
}
