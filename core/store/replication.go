package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// AllReplicas as Replication.Acks asks every replica connected to the
// master at the time of the write to acknowledge it.
const AllReplicas = -1

// DefaultReplicaAckTimeout bounds the wait for replicas when the
// configuration names no bound. Replicas a few milliseconds behind answer
// well within it; one that is stuck costs the caller this much, then a 503.
const DefaultReplicaAckTimeout = 500 * time.Millisecond

// replicaCountTTL is how long a master's number of connected replicas is
// trusted before INFO is asked again; a shortfall asks at once.
const replicaCountTTL = time.Second

// ErrNotReplicated: the write reached the master, but fewer replicas than
// required acknowledged it in time. A failover now could lose it, so the
// caller must not answer as though it were durable. It wraps ErrUnavailable:
// retrying later is safe (every such write is idempotent or fenced).
var ErrNotReplicated = fmt.Errorf("store: write not acknowledged by enough replicas: %w", ErrUnavailable)

// Replication says how many replicas must acknowledge a write that an
// answer depends on (an OK to Trustly, a claim before calling Trustly, a
// stored idempotent response) before the store reports it done.
//
// Redis replicates asynchronously: a master acknowledges a write before any
// replica has it, and a failover (Sentinel, or a Cluster promoting a
// replica) loses what the replicas had not received. WAIT closes that
// window at the cost of one round trip to the replicas per answer.
type Replication struct {
	// Acks is the number of replicas that must acknowledge: AllReplicas
	// (every one online at the master, i.e. connected and done with its
	// initial copy; with none online nothing is waited for), 0 (none: asynchronous replication, as without this
	// setting) or a number.
	Acks int
	// Timeout bounds the wait; 0 means DefaultReplicaAckTimeout. A write
	// not acknowledged in time fails with ErrNotReplicated.
	Timeout time.Duration
	// AOF also waits for the master's own append-only file to be fsynced
	// (WAITAOF, Redis 7.2 and later; with it the replicas count once they
	// fsynced too, so they need appendonly yes). On an older server the
	// store falls back to WAIT.
	AOF bool
}

// DefaultReplication is the replication a mode gets when the configuration
// names none: every connected replica, for the topologies that fail over
// (Sentinel and Cluster); nothing for a single node, whose replicas (if
// any) are never promoted automatically.
func DefaultReplication(m Mode) Replication {
	switch m {
	case ModeSentinel, ModeCluster:
		return Replication{Acks: AllReplicas, Timeout: DefaultReplicaAckTimeout}
	}
	return Replication{}
}

// Validate reports a replication setting that cannot work.
func (r Replication) Validate() error {
	var errs []error
	if r.Acks < AllReplicas {
		errs = append(errs, fmt.Errorf("replica acknowledgements must be all, none or a positive number, not %d", r.Acks))
	}
	if r.Timeout < 0 {
		errs = append(errs, fmt.Errorf("negative replica acknowledgement timeout %s", r.Timeout))
	}
	return errors.Join(errs...)
}

// String describes the setting for a log line.
func (r Replication) String() string {
	acks := strconv.Itoa(r.Acks)
	switch r.Acks {
	case AllReplicas:
		acks = "all"
	case 0:
		if !r.AOF {
			return "none"
		}
		acks = "none"
	}
	s := fmt.Sprintf("acks=%s timeout=%s", acks, r.timeout())
	if r.AOF {
		s += " aof=local"
	}
	return s
}

func (r Replication) timeout() time.Duration {
	if r.Timeout <= 0 {
		return DefaultReplicaAckTimeout
	}
	return r.Timeout
}

func (r Replication) enabled() bool { return r.Acks != 0 || r.AOF }

// replicator makes writes wait for replicas. A disabled one (single node
// by default, the embedded store) sends writes as before: no dedicated
// connection, no extra round trip.
type replicator struct {
	rdb  redis.UniversalClient
	keys Keys
	cfg  Replication

	timeouts atomic.Int64 // writes not acknowledged in time

	mu    sync.Mutex
	nodes map[string]*nodeInfo // by master address
}

type nodeInfo struct {
	replicas int
	at       time.Time // when replicas was read; zero: never
	aof      *bool     // whether the server has WAITAOF; nil: not asked yet
}

func newReplicator(rdb redis.UniversalClient, keys Keys, cfg Replication) *replicator {
	return &replicator{rdb: rdb, keys: keys, cfg: cfg, nodes: map[string]*nodeInfo{}}
}

// begin starts the writes of one answer. Its writes go, per master, over
// one connection each, so that WAIT (which covers the writes of its own
// connection) covers them; wait then waits once per master.
func (r *replicator) begin() *writes {
	return &writes{r: r}
}

// writes is the writes of one answer; use it from one goroutine, and
// close it.
type writes struct {
	r     *replicator
	conns []*masterConn
}

type masterConn struct {
	node  *redis.Client
	conn  *redis.Conn
	sync  string // a key on this master to write when only reads happened
	wrote bool
}

// on returns what key's write is sent through: the client itself when
// nothing waits, else the connection to the master owning key's slot.
func (w *writes) on(ctx context.Context, key string) (redis.Cmdable, error) {
	if !w.r.cfg.enabled() {
		return w.r.rdb, nil
	}
	mc, err := w.master(ctx, key)
	if err != nil {
		return nil, w.fail(ctx, "find the master of a key", err)
	}
	mc.wrote = true
	return mc.conn, nil
}

func (w *writes) master(ctx context.Context, key string) (*masterConn, error) {
	var node *redis.Client
	switch c := w.r.rdb.(type) {
	case *redis.ClusterClient:
		n, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("find the master of %s: %w", key, err)
		}
		node = n
	case *redis.Client:
		node = c
	default:
		return nil, fmt.Errorf("store: cannot wait for replicas with a %T", w.r.rdb)
	}
	for _, mc := range w.conns {
		if mc.node == node {
			return mc, nil
		}
	}
	mc := &masterConn{node: node, conn: node.Conn(), sync: w.r.keys.Sync(key)}
	w.conns = append(w.conns, mc)
	return mc, nil
}

// settle is for an answer that repeats an earlier one read back from
// Redis (a duplicate notification, a stored idempotent response): the
// write that made it may be one whose wait failed, not yet on the
// replicas. WAIT counts only the writes of its own connection, so a small
// write on key's master (the Sync key) carries the replication offset past
// every earlier write there; the wait then covers them.
func (w *writes) settle(ctx context.Context, key string) error {
	if !w.r.cfg.enabled() {
		return nil
	}
	mc, err := w.master(ctx, key)
	if err != nil {
		return w.fail(ctx, "find the master of a key", err)
	}
	if err := mc.conn.Set(ctx, mc.sync, "1", time.Minute).Err(); err != nil {
		return w.fail(ctx, "mark the replication offset", err)
	}
	mc.wrote = true
	return nil
}

// wait waits until every master written to has the required replica
// acknowledgements, and fails with ErrNotReplicated when one has not.
func (w *writes) wait(ctx context.Context, op string) error {
	if !w.r.cfg.enabled() {
		return nil
	}
	for _, mc := range w.conns {
		if !mc.wrote {
			continue
		}
		if err := w.r.waitOn(ctx, op, mc); err != nil {
			return err
		}
		mc.wrote = false // covered: a second wait need not ask again
	}
	return nil
}

// fail wraps a write's error and, on a Cluster, has the client re-read the
// slots: writes over a master's own connection bypass the Cluster client,
// which would otherwise keep sending them to a master that failed over.
func (w *writes) fail(ctx context.Context, op string, err error) error {
	if c, ok := w.r.rdb.(*redis.ClusterClient); ok && w.r.cfg.enabled() {
		c.ReloadState(context.WithoutCancel(ctx))
	}
	return wrapRedis(ctx, op, err)
}

// close gives the connections back to their pools.
func (w *writes) close() {
	for _, mc := range w.conns {
		_ = mc.conn.Close()
	}
	w.conns = nil
}

// waitOn sends the wait of mc's master on its connection and judges it.
func (r *replicator) waitOn(ctx context.Context, op string, mc *masterConn) error {
	p, err := r.plan(ctx, mc.node)
	if err != nil || !p.needed() {
		return err
	}
	return r.judge(ctx, op, mc.node, p, p.send(ctx, mc.conn))
}

// waitPlan is the WAIT (or WAITAOF) one master gets.
type waitPlan struct {
	want    int
	aof     bool
	timeout time.Duration
}

func (p waitPlan) needed() bool { return p.want > 0 || p.aof }

func (r *replicator) plan(ctx context.Context, node *redis.Client) (waitPlan, error) {
	want, err := r.wanted(ctx, node, false)
	if err != nil {
		return waitPlan{}, err
	}
	return waitPlan{want: want, aof: r.cfg.AOF && r.hasWaitAOF(ctx, node), timeout: r.cfg.timeout()}, nil
}

// waiter is a connection or its pipeline: redis.Cmdable lacks WAIT.
type waiter interface {
	Wait(ctx context.Context, numSlaves int, timeout time.Duration) *redis.IntCmd
	WaitAOF(ctx context.Context, numLocal, numSlaves int, timeout time.Duration) *redis.IntSliceCmd
}

// A connection's pipeline is a *redis.Pipeline (send relies on it).
var _ waiter = (*redis.Pipeline)(nil)

// send queues or sends the wait on c.
func (p waitPlan) send(ctx context.Context, c waiter) redis.Cmder {
	if p.aof {
		return c.WaitAOF(ctx, 1, p.want, p.timeout)
	}
	return c.Wait(ctx, p.want, p.timeout)
}

// judge reads the answer to p's wait.
func (r *replicator) judge(ctx context.Context, op string, node *redis.Client, p waitPlan, cmd redis.Cmder) error {
	if err := cmd.Err(); err != nil {
		return r.failWait(ctx, op, err)
	}
	var got int64
	switch c := cmd.(type) {
	case *redis.IntSliceCmd:
		res := c.Val()
		if len(res) != 2 || res[0] < 1 {
			r.timeouts.Add(1)
			return fmt.Errorf("store: %s: the master's append-only file not fsynced within %s: %w", op, p.timeout, ErrNotReplicated)
		}
		got = res[1]
	case *redis.IntCmd:
		got = c.Val()
	}
	if got >= int64(p.want) {
		return nil
	}
	if r.cfg.Acks == AllReplicas {
		// A replica that disconnected since the count was read is not
		// waited for: "all" means all online now.
		if now, err := r.wanted(ctx, node, true); err == nil && got >= int64(now) {
			return nil
		}
	}
	r.timeouts.Add(1)
	return fmt.Errorf("store: %s: %d of %d replicas acknowledged within %s: %w", op, got, p.want, p.timeout, ErrNotReplicated)
}

// pipelineMargin is how much longer than the wait a pipeline's reply may
// take: a pipeline is read with the client's plain read timeout (a lone
// WAIT gets its own), so the wait goes into one only when it ends well
// before that timeout.
const pipelineMargin = 200 * time.Millisecond

// script runs s on key's master. Where it can, it sends the wait in the
// same round trip (EVALSHA and WAIT in one pipeline, send), saving the
// round trip a WAIT of its own costs; the error it returns is then the
// wait's, and a later wait is a no-op unless settle wrote since. The
// script's own result and error are in the Cmd. An answer that only read
// (a duplicate) must still settle and wait: the pipelined WAIT covered
// this connection's writes only.
func (w *writes) script(ctx context.Context, key string, s *redis.Script, keys []string, args ...any) (*redis.Cmd, error) {
	if !w.r.cfg.enabled() {
		return s.Run(ctx, w.r.rdb, keys, args...), nil
	}
	q := &queued{key: key, script: s, keys: keys, args: args}
	w.send(ctx, []*queued{q})
	if q.cmd.Err() != nil {
		return q.cmd, nil
	}
	return q.cmd, q.waitErr
}

func (r *replicator) failWait(ctx context.Context, op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		r.timeouts.Add(1)
	}
	return wrapRedis(ctx, op+": wait for replicas", err)
}

// wanted is how many replicas must acknowledge a write on node.
func (r *replicator) wanted(ctx context.Context, node *redis.Client, fresh bool) (int, error) {
	if r.cfg.Acks != AllReplicas {
		return r.cfg.Acks, nil
	}
	addr := node.Options().Addr
	r.mu.Lock()
	ni := r.node(addr)
	if !fresh && !ni.at.IsZero() && time.Since(ni.at) < replicaCountTTL {
		n := ni.replicas
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()
	info, err := node.Info(ctx, "replication").Result()
	if err != nil {
		return 0, wrapRedis(ctx, "count the replicas", err)
	}
	n := onlineReplicas(info)
	r.mu.Lock()
	ni.replicas, ni.at = n, time.Now()
	r.mu.Unlock()
	return n, nil
}

// hasWaitAOF reports whether node's server has WAITAOF (7.2 and later).
func (r *replicator) hasWaitAOF(ctx context.Context, node *redis.Client) bool {
	addr := node.Options().Addr
	r.mu.Lock()
	ni := r.node(addr)
	if ni.aof != nil {
		ok := *ni.aof
		r.mu.Unlock()
		return ok
	}
	r.mu.Unlock()
	info, err := node.Info(ctx, "server").Result()
	if err != nil {
		return false // asked again next time
	}
	v, _ := infoField(info, "redis_version")
	ok := versionAtLeast(v, 7, 2)
	r.mu.Lock()
	ni.aof = &ok
	r.mu.Unlock()
	return ok
}

// node returns the cache entry of addr; r.mu must be held.
func (r *replicator) node(addr string) *nodeInfo {
	ni, ok := r.nodes[addr]
	if !ok {
		ni = &nodeInfo{}
		r.nodes[addr] = ni
	}
	return ni
}

// onlineReplicas counts the replicas of an INFO replication reply that
// are online. connected_slaves also counts a replica still loading a full
// copy of the data, which acknowledges nothing until it is done: waiting
// for it would answer 503 for as long as the copy takes (minutes, for a
// large data set), though it cannot be promoted before it is done either.
func onlineReplicas(info string) int {
	n := 0
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "slave") && strings.Contains(line, ":ip=") && strings.Contains(line, ",state=online,") {
			n++
		}
	}
	return n
}

// infoField returns one field of an INFO reply.
func infoField(info, name string) (string, bool) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v, true
		}
	}
	return "", false
}

// versionAtLeast compares a "major.minor.patch" version.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
