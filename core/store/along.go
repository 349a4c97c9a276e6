package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Along is a write that travels with a transition (RedisOrders.ApplyAlong)
// when neither needs the other's answer: it goes in the same round trip to
// its master, and the same wait for the replicas covers it. An order's
// Trustly orderid entry and the shop's stored answer are written this way
// beside the transition that records Trustly's acceptance, in other slots
// than the order's, so the shop's answer waits for one round trip instead
// of three side by side.
//
// A store makes it (IndexAlong, CompleteAlong); after ApplyAlong returns,
// Err tells how this write went, whatever became of the others.
type Along struct {
	rdb  redis.UniversalClient
	repl *replicator
	w    queued
	op   string
	// judge turns the reply into the write's outcome.
	judge func(*redis.Cmd) error
	// done runs once the write is known to have succeeded.
	done func()

	sent bool
	err  error
}

// Err is the write's outcome: nil once it is stored (and acknowledged by
// the replicas the store waits for).
func (a *Along) Err() error { return a.err }

// Sent reports whether the write was sent (or failed before it could be).
func (a *Along) Sent() bool { return a.sent }

// failedAlong is a write that cannot be sent at all.
func failedAlong(err error) *Along { return &Along{sent: true, err: err} }

// finish records the outcome of a sent write.
func (a *Along) finish(ctx context.Context, w *writes) {
	a.sent = true
	if err := a.w.cmd.Err(); err != nil {
		a.err = w.fail(ctx, a.op, err)
		return
	}
	if err := a.judge(a.w.cmd); err != nil {
		a.err = err
		return
	}
	if a.w.waitErr != nil {
		a.err = fmt.Errorf("store: %s: %w", a.op, a.w.waitErr)
		return
	}
	if a.done != nil {
		a.done()
	}
}

// IndexAlong is IndexTrustlyOrderIDTTL(orderID, id, 0) as a write to send
// with the order's transition.
func (s *RedisOrders) IndexAlong(orderID, id string) *Along {
	key := s.keys.TrustlyOrderIndex(orderID)
	return &Along{rdb: s.rdb, repl: s.repl, op: "index trustly orderid",
		w:     queued{key: key, args: []any{"set", key, id}},
		judge: func(cmd *redis.Cmd) error { return nil },
		done:  func() { s.tids.put(orderID, id) }}
}

// CompleteAlong is Complete(c, out) as a write to send with a transition.
func (s *RedisIdempotency) CompleteAlong(c Claim, out Outcome) *Along {
	if err := validKey(c.Scope, c.Key); err != nil {
		return failedAlong(err)
	}
	k := s.keys.Idempotency(c.Scope, c.Key)
	return &Along{rdb: s.rdb, repl: s.repl, op: "complete idempotency key",
		w: queued{key: k.Record, script: completeScript, keys: []string{k.Record, k.Lock},
			args: []any{strconv.FormatInt(c.Token, 10), out.Code, out.Body, s.ttl.Milliseconds()}},
		judge: func(cmd *redis.Cmd) error {
			ok, err := cmd.Int()
			if err != nil {
				return fmt.Errorf("store: complete idempotency key: %w", err)
			}
			if ok != 1 {
				return fmt.Errorf("store: complete: token %d: %w", c.Token, ErrFenced)
			}
			return nil
		}}
}

// queued is one write of a round trip shared with others (writes.send):
// a script, or a command when script is nil.
type queued struct {
	key    string // routes the write to its master
	script *redis.Script
	keys   []string
	args   []any

	cmd     *redis.Cmd
	waitErr error // the wait for the replicas that covered it failed
}

func (q *queued) queue(ctx context.Context, p redis.Pipeliner, eval bool) {
	switch {
	case q.script == nil:
		q.cmd = p.Do(ctx, q.args...)
	case eval:
		q.cmd = q.script.Eval(ctx, p, q.keys, q.args...)
	default:
		q.cmd = q.script.EvalSha(ctx, p, q.keys, q.args...)
	}
}

// lacking returns the scripts of qs the server did not have.
func lacking(qs []*queued) []*queued {
	var out []*queued
	for _, q := range qs {
		if q.script != nil && redis.HasErrorPrefix(q.cmd.Err(), "NOSCRIPT") {
			out = append(out, q)
		}
	}
	return out
}

// send sends qs in one pipeline per master: one round trip on a single
// node, one per master on a Cluster, side by side. Where the replicas are
// waited for, each pipeline carries its master's wait, as script does for
// one script; each write's waitErr is its master's.
func (w *writes) send(ctx context.Context, qs []*queued) {
	exec := func(c redis.Cmdable, qs []*queued, p *waitPlan) redis.Cmder {
		run := func(qs []*queued, eval bool) redis.Cmder {
			pipe := c.Pipeline()
			for _, q := range qs {
				q.queue(ctx, pipe, eval)
			}
			var wc redis.Cmder
			if p != nil {
				wc = p.send(ctx, pipe.(waiter))
			}
			_, _ = pipe.Exec(ctx)
			return wc
		}
		wc := run(qs, false)
		if again := lacking(qs); len(again) > 0 {
			// A server that lacks a script (after a restart or a
			// failover): as Script.Run, once more with its text. The
			// second wait covers the first pipeline's writes too.
			wc = run(again, true)
		}
		return wc
	}
	if !w.r.cfg.enabled() {
		// A Cluster client splits the pipeline by node itself.
		exec(w.r.rdb, qs, nil)
		return
	}
	type group struct {
		mc *masterConn
		qs []*queued
	}
	var groups []*group
	for _, q := range qs {
		mc, err := w.master(ctx, q.key)
		if err != nil {
			q.cmd = redis.NewCmd(ctx)
			q.cmd.SetErr(err)
			continue
		}
		var g *group
		for _, have := range groups {
			if have.mc == mc {
				g = have
			}
		}
		if g == nil {
			g = &group{mc: mc}
			groups = append(groups, g)
		}
		g.qs = append(g.qs, q)
	}
	one := func(g *group) {
		p, err := w.r.plan(ctx, g.mc.node)
		if err != nil {
			for _, q := range g.qs {
				q.cmd = redis.NewCmd(ctx)
				q.cmd.SetErr(err)
			}
			return
		}
		rt := g.mc.node.Options().ReadTimeout
		if !p.needed() || (rt >= 0 && p.timeout+pipelineMargin >= rt) {
			// The wait, if any, goes on its own later (wait).
			g.mc.wrote = true
			exec(g.mc.conn, g.qs, nil)
			return
		}
		wc := exec(g.mc.conn, g.qs, &p)
		err = w.r.judge(ctx, "wait for replicas", g.mc.node, p, wc)
		for _, q := range g.qs {
			q.waitErr = err
		}
	}
	if len(groups) == 1 {
		one(groups[0])
		return
	}
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() { one(g) })
	}
	wg.Wait()
}

// sendWaited is send, then the wait of the masters whose wait could not
// go in their pipeline; a failed wait fails every write not failed yet.
func (w *writes) sendWaited(ctx context.Context, qs []*queued) {
	w.send(ctx, qs)
	if err := w.wait(ctx, "wait for replicas"); err != nil {
		for _, q := range qs {
			if q.waitErr == nil {
				q.waitErr = err
			}
		}
	}
}

// sendsWith reports whether along can share the transition's round trips:
// written by stores on the same client that wait for the same replicas
// (stores on one DB). Others are sent on their own.
func (s *RedisOrders) sendsWith(along []*Along) bool {
	for _, a := range along {
		if !a.sent && (a.rdb != s.rdb || a.repl.cfg != s.repl.cfg) {
			return false
		}
	}
	return true
}

// applyTogether sends the transition main and along in one round trip per
// master and waits for the replicas of them all; a failed wait fails them
// all. It returns the transition's reply and wait error, as script does.
func (s *RedisOrders) applyTogether(ctx context.Context, w *writes, main *queued, along []*Along) (*redis.Cmd, error) {
	qs := []*queued{main}
	var sent []*Along
	for _, a := range along {
		if !a.sent {
			qs = append(qs, &a.w)
			sent = append(sent, a)
		}
	}
	w.sendWaited(ctx, qs)
	for _, a := range sent {
		a.finish(ctx, w)
	}
	return main.cmd, main.waitErr
}

// sendAlone sends a on its own round trip (and its own wait).
func (a *Along) sendAlone(ctx context.Context) {
	if a.sent {
		return
	}
	w := a.repl.begin()
	defer w.close()
	w.sendWaited(ctx, []*queued{&a.w})
	a.finish(ctx, w)
}
