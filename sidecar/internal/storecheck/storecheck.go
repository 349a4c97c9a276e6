// Package storecheck holds serve to what core/store/LAYOUT.md ("What the
// store requires of Redis") asks of Redis: at start, the server's settings
// (an evicting Redis refused in LIVE, weaker durability a warning); while
// running, the store's marker, so that a Redis that came back empty fails
// /readyz instead of answering OK over lost payments.
package storecheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// Store is what the guard asks of the store (a *store.DB).
type Store interface {
	CheckServer(ctx context.Context) (store.ServerReport, error)
	EnsureMarker(ctx context.Context, now time.Time) (store.Marker, bool, error)
	Marker(ctx context.Context) (store.Marker, bool, error)
}

// Metrics records what the guard finds (a *metrics.Set).
type Metrics interface {
	SetRedisDurability(check string, ok bool)
	SetRedisDataLost(lost bool)
}

var (
	// ErrEvicting: LIVE refuses a Redis whose maxmemory-policy deletes keys.
	ErrEvicting = errors.New("redis evicts keys")
	// ErrDataLost: the store's marker is gone or changed since this process
	// saw it; Redis lost its data.
	ErrDataLost = errors.New("redis lost its data")
	// ErrWeak: Redis keeps less than the store requires, or could not tell.
	ErrWeak = errors.New("redis durability weaker than required")
)

// action is what serve does about one problem.
type action int

const (
	warn   action = iota // log a WARN and run
	refuse               // exit at start
)

// actions says, for each problem the store reports, what serve does in
// LIVE and elsewhere. A problem whose setting could not be read is always
// a warning: refusing would stop every sidecar on a managed Redis that
// hides both CONFIG and INFO.
var actions = map[store.ProblemKind]struct{ live, other action }{
	store.ProblemEviction: {live: refuse, other: warn},
	store.ProblemAOF:      {live: warn, other: warn},
	store.ProblemFsync:    {live: warn, other: warn},
}

// Decide returns ErrEvicting (wrapped, with what to do) when serve must
// not start on r, and the problems to warn about otherwise. allowEviction
// is the documented override (allowSetting names it in the message).
func Decide(r store.ServerReport, live, allowEviction bool, allowSetting string) (warnings []store.Problem, err error) {
	var refused []string
	for _, p := range r.Problems() {
		a := actions[p.Kind].other
		if live {
			a = actions[p.Kind].live
		}
		if p.Unknown || (p.Kind == store.ProblemEviction && allowEviction) {
			a = warn
		}
		if a == refuse {
			refused = append(refused, p.String())
			continue
		}
		warnings = append(warnings, p)
	}
	if len(refused) > 0 {
		return warnings, fmt.Errorf("%w: %s. LIVE refuses it: set maxmemory-policy noeviction on the Redis "+
			"(a full Redis then refuses writes, answered 503 and retried, instead of deleting payments), "+
			"or set %s=true to accept the risk (core/store/LAYOUT.md)",
			ErrEvicting, strings.Join(refused, "; "), allowSetting)
	}
	return warnings, nil
}

// Options configure a Guard.
type Options struct {
	Log     *slog.Logger
	Metrics Metrics
	Live    bool
	// AllowEviction is the override of LIVE's refusal of an evicting
	// Redis; AllowSetting names it in messages.
	AllowEviction bool
	AllowSetting  string
	Now           func() time.Time
	// Every is how often Run checks the marker and the settings again.
	Every time.Duration
}

// DefaultEvery is how often Run checks, between readiness probes.
const DefaultEvery = 10 * time.Second

// startTimeout bounds the check of the settings at start: a Redis that is
// down must not hold serve back (it starts not ready, as before).
const startTimeout = 5 * time.Second

// Guard checks the store's Redis at start and while serve runs.
type Guard struct {
	db Store
	o  Options
	// sem serialises the marker checks (readiness probes and Run) while
	// letting a waiter give up with its context.
	sem chan struct{}

	mu       sync.Mutex
	seen     *store.Marker // the marker this process saw first; nil until then
	lost     bool          // the marker is gone or changed now
	weak     error         // the last settings check: nil or wrapping ErrWeak
	lastWarn string        // the warnings last logged, to log only changes
}

// New returns a guard of db; nothing is checked yet.
func New(db Store, o Options) *Guard {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	return &Guard{db: db, o: o, sem: make(chan struct{}, 1)}
}

// Start checks the settings (an error wrapping ErrEvicting: serve must not
// start) and the marker, writing it on a Redis that has none. A Redis that
// does not answer is no error here: the settings are unknown (a warning)
// and Run and the readiness checks try again.
func (g *Guard) Start(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := g.checkSettings(cctx, true); err != nil {
		return err
	}
	if err := g.CheckData(cctx); err != nil && !errors.Is(err, ErrDataLost) {
		g.o.Log.WarnContext(ctx, "redis: store marker not checked at start; readiness checks retry", "err", err)
	}
	return nil
}

// checkSettings reads the server's settings, records them and logs what
// changed; at start it also decides whether serve may run.
func (g *Guard) checkSettings(ctx context.Context, atStart bool) error {
	r, err := g.db.CheckServer(ctx)
	if err != nil {
		// Only the context ends CheckServer: every setting is unknown.
		r = store.ServerReport{Nodes: []store.NodeReport{{Addr: "redis", Err: err}}}
	}
	warnings, refused := Decide(r, g.o.Live, g.o.AllowEviction, g.o.AllowSetting)
	ok := map[store.ProblemKind]bool{store.ProblemEviction: true, store.ProblemAOF: true, store.ProblemFsync: true}
	for _, p := range r.Problems() {
		ok[p.Kind] = false
	}
	// Without an AOF there is nothing to fsync: not a separate warning,
	// but not "ok" either.
	ok[store.ProblemFsync] = ok[store.ProblemFsync] && ok[store.ProblemAOF]
	for k, v := range ok {
		g.o.Metrics.SetRedisDurability(string(k), v)
	}
	if refused != nil {
		if atStart {
			return refused
		}
		// Found while running (someone changed the policy): serve keeps
		// going, but says what it would have refused.
		g.o.Log.ErrorContext(ctx, "redis: "+refused.Error())
	}
	var texts []string
	for _, p := range warnings {
		texts = append(texts, p.String())
	}
	key := strings.Join(texts, "\n")
	g.mu.Lock()
	changed := key != g.lastWarn || atStart
	g.lastWarn = key
	g.weak = nil
	if ps := r.Problems(); len(ps) > 0 {
		all := make([]string, len(ps))
		for i, p := range ps {
			all[i] = p.String()
		}
		g.weak = fmt.Errorf("%w: %s", ErrWeak, strings.Join(all, "; "))
	}
	g.mu.Unlock()
	if !changed {
		return nil
	}
	if r.Embedded {
		// Chosen knowingly (LIVE refuses it): one line, not three warnings.
		g.o.Log.InfoContext(ctx, "redis: embedded store: nothing is kept when the process ends")
		return nil
	}
	for _, n := range r.Nodes {
		if n.Err != nil {
			g.o.Log.WarnContext(ctx, "redis: settings unknown: neither CONFIG GET nor INFO answered", "node", n.Addr, "err", n.Err)
		}
	}
	for _, p := range warnings {
		g.o.Log.WarnContext(ctx, "redis: weaker than the store requires (core/store/LAYOUT.md)", "problem", p.String(),
			"check", string(p.Kind), "node", p.Node)
	}
	if len(warnings) == 0 && !atStart {
		g.o.Log.InfoContext(ctx, "redis: settings now as the store requires")
	}
	return nil
}

// Durability is an advisory readiness check: an error wrapping ErrWeak
// while the last settings check found a problem.
func (g *Guard) Durability(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.weak
}

// CheckData is the readiness check of the marker ("redis_data"): an error
// wrapping ErrDataLost while Redis has lost the data this process saw, one
// wrapping store.ErrUnavailable while Redis does not answer. The first time
// the process reaches Redis it writes the marker if there is none; after
// that it never writes it: a person decides what an empty Redis means.
func (g *Guard) CheckData(ctx context.Context) error {
	select {
	case g.sem <- struct{}{}:
		defer func() { <-g.sem }()
	case <-ctx.Done():
		return fmt.Errorf("redis data check: %w", ctx.Err())
	}
	g.mu.Lock()
	seen := g.seen
	g.mu.Unlock()
	if seen == nil {
		m, created, err := g.db.EnsureMarker(ctx, g.o.Now())
		if err != nil {
			return err
		}
		if created {
			g.o.Log.InfoContext(ctx, "redis: new store, marker written; if this Redis held payments before, they are lost (core/store/LAYOUT.md)",
				"marker", m.ID, "created", m.Created)
		} else {
			g.o.Log.InfoContext(ctx, "redis: store marker found", "marker", m.ID, "created", m.Created)
		}
		g.mu.Lock()
		g.seen = &m
		g.mu.Unlock()
		g.o.Metrics.SetRedisDataLost(false)
		return nil
	}
	m, found, err := g.db.Marker(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	wasLost := g.lost
	g.lost = !found || m.ID != seen.ID
	lost := g.lost
	g.mu.Unlock()
	g.o.Metrics.SetRedisDataLost(lost)
	switch {
	case lost && !wasLost:
		got := "none"
		if found {
			got = m.ID
		}
		g.o.Log.ErrorContext(ctx, "redis: the store's marker is gone or changed: Redis lost its data (restarted without "+
			"persistence, flushed, or failed over to an empty replica). Orders and idempotency records since then may be "+
			"gone; /readyz fails until a person decides. Restore Redis from a backup (the marker comes back), or accept "+
			"the empty store by restarting serve (core/store/LAYOUT.md)",
			"marker_seen", seen.ID, "marker_now", got)
	case !lost && wasLost:
		g.o.Log.InfoContext(ctx, "redis: the store's marker is back; /readyz passes again", "marker", m.ID)
	}
	if lost {
		return fmt.Errorf("%w: marker %s no longer in Redis", ErrDataLost, seen.ID)
	}
	return nil
}

// Run checks the marker and the settings every Every until ctx ends, so
// the metrics and the log follow Redis between readiness probes.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTicker(g.o.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, startTimeout)
		_ = g.CheckData(cctx) // logged inside when it matters; Redis down is /readyz's "redis"
		_ = g.checkSettings(cctx, false)
		cancel()
	}
}
