package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterTimeout bounds how long N fresh nodes may take to agree on the
// cluster; gossip usually settles in about a second.
const clusterTimeout = 30 * time.Second

const clusterSlots = 16384

// NewCluster starts a real Redis Cluster of masters nodes (no replicas) on
// free ports, waits until every node reports cluster_state:ok, and returns
// the nodes' addresses; the nodes stop when the test ends.
//
// A machine without redis-server skips the test, with a banner that says so,
// because a Cluster cannot be faked in process; every other failure fails.
func NewCluster(tb testing.TB, masters int) []string {
	tb.Helper()
	if masters < 1 {
		tb.Fatalf("redistest: a cluster needs at least one master, not %d", masters)
	}
	skipWithoutServer(tb)
	dir := tb.TempDir()
	servers, addrs, err := startCluster(dir, masters)
	for _, srv := range servers {
		tb.Cleanup(srv.stop)
	}
	if err != nil {
		tb.Fatalf("redistest: cluster: %v", err)
	}
	return addrs
}

// SharedCluster returns the addresses of a Cluster of masters nodes shared
// by the tests of this package run, started on first use and stopped when
// Main returns: a Cluster takes a second or more to form, too long to pay
// per test. Tests sharing it must keep to their own keys (see Prefix).
// Without Main it is NewCluster. It skips like NewCluster.
func SharedCluster(tb testing.TB, masters int) []string {
	tb.Helper()
	shared.mu.Lock()
	inMain := shared.inMain
	shared.mu.Unlock()
	if !inMain || masters < 1 {
		return NewCluster(tb, masters)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if c, ok := shared.clusters[masters]; ok {
		return c.addrs
	}
	skipWithoutServer(tb)
	dir, err := os.MkdirTemp("", "redistest-cluster-")
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	servers, addrs, err := startCluster(dir, masters)
	c := &cluster{dir: dir, servers: servers, addrs: addrs}
	if err != nil {
		c.stop()
		tb.Fatalf("redistest: cluster: %v", err)
	}
	if shared.clusters == nil {
		shared.clusters = map[int]*cluster{}
	}
	shared.clusters[masters] = c
	return addrs
}

type cluster struct {
	dir     string
	servers []*Server
	addrs   []string
}

func (c *cluster) stop() {
	for _, s := range c.servers {
		s.stop()
	}
	os.RemoveAll(c.dir)
}

// skipWithoutServer skips tb loudly when redis-server is missing.
func skipWithoutServer(tb testing.TB) {
	tb.Helper()
	if _, err := lookPath(); err != nil {
		// Also on stderr: go test shows a skipped test's log only with -v.
		banner := fmt.Sprintf("%[1]s\n!! SKIPPING %[2]s: no Redis Cluster without redis-server.\n!! %[3]v\n%[1]s",
			strings.Repeat("!", 72), tb.Name(), err)
		fmt.Fprintln(os.Stderr, banner)
		tb.Skip(banner)
	}
}

// startCluster starts masters cluster-enabled servers under dir, joins them
// and waits until every node reports cluster_state:ok. The servers it
// started are returned also on failure, for the caller to stop.
func startCluster(dir string, masters int) ([]*Server, []string, error) {
	var servers []*Server
	addrs := make([]string, masters)
	for i := range masters {
		sub := filepath.Join(dir, strconv.Itoa(i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return servers, nil, err
		}
		srv, err := startFree(sub, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
		})
		if err != nil {
			return servers, nil, err
		}
		servers = append(servers, srv)
		addrs[i] = srv.Addr()
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	nodes := make([]*redis.Client, masters)
	for i, addr := range addrs {
		nodes[i] = redis.NewClient(&redis.Options{Addr: addr})
		defer nodes[i].Close()
	}

	// Slots and MEETs by hand rather than `redis-cli --cluster create`, which
	// asks for confirmation and whose flags moved between Redis versions.
	for i, node := range nodes {
		from, to := i*clusterSlots/masters, (i+1)*clusterSlots/masters
		args := []any{"CLUSTER", "ADDSLOTS"}
		for slot := from; slot < to; slot++ {
			args = append(args, slot)
		}
		if err := node.Do(ctx, args...).Err(); err != nil {
			return servers, nil, fmt.Errorf("ADDSLOTS %d-%d on %s: %w", from, to-1, addrs[i], err)
		}
	}
	for _, addr := range addrs[1:] {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return servers, nil, err
		}
		if err := nodes[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			return servers, nil, fmt.Errorf("MEET %s: %w", addr, err)
		}
	}

	want := "cluster_known_nodes:" + strconv.Itoa(masters)
	for i, node := range nodes {
		for {
			info, err := node.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
				break
			}
			if ctx.Err() != nil {
				return servers, nil, fmt.Errorf("node %s not ok within %s: %v\n%s", addrs[i], clusterTimeout, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return servers, addrs, nil
}

// Cluster is a Cluster whose masters have a replica each (NewReplicatedCluster).
type Cluster struct {
	Masters  []*Server
	Replicas []*Server // Replicas[i] replicates Masters[i]
}

// Addrs returns every node's address, masters first.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, s := range append(append([]*Server{}, c.Masters...), c.Replicas...) {
		out = append(out, s.Addr())
	}
	return out
}

// replicatedNodeTimeout is the Cluster's node timeout in a replicated
// Cluster: a killed master's replica takes over about two of it later.
const replicatedNodeTimeout = 1000

// NewReplicatedCluster starts a Cluster of masters masters with one
// replica each on free ports, waits until every node reports
// cluster_state:ok and every master has its replica online; the nodes stop
// when the test ends. It skips like NewCluster.
func NewReplicatedCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	if masters < 3 {
		tb.Fatalf("redistest: a replica takes over only with a majority of at least 3 masters, not %d", masters)
	}
	skipWithoutServer(tb)
	dir := tb.TempDir()
	c := &Cluster{}
	start := func(name string) *Server {
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		srv, err := startFree(sub, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(replicatedNodeTimeout),
		})
		if err != nil {
			tb.Fatalf("redistest: replicated cluster: %v", err)
		}
		srv.tb = tb
		tb.Cleanup(srv.stop)
		return srv
	}
	for i := range masters {
		c.Masters = append(c.Masters, start("master"+strconv.Itoa(i)))
		c.Replicas = append(c.Replicas, start("replica"+strconv.Itoa(i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := c.form(ctx); err != nil {
		tb.Fatalf("redistest: replicated cluster: %v", err)
	}
	return c
}

func (c *Cluster) form(ctx context.Context) error {
	all := append(append([]*Server{}, c.Masters...), c.Replicas...)
	nodes := make([]*redis.Client, len(all))
	for i, s := range all {
		nodes[i] = redis.NewClient(&redis.Options{Addr: s.Addr()})
		defer nodes[i].Close()
	}
	masters := len(c.Masters)
	for i, node := range nodes[:masters] {
		from, to := i*clusterSlots/masters, (i+1)*clusterSlots/masters
		args := []any{"CLUSTER", "ADDSLOTS"}
		for slot := from; slot < to; slot++ {
			args = append(args, slot)
		}
		if err := node.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("ADDSLOTS %d-%d on %s: %w", from, to-1, all[i].Addr(), err)
		}
	}
	for _, s := range all[1:] {
		if err := nodes[0].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(s.port)).Err(); err != nil {
			return fmt.Errorf("MEET %s: %w", s.Addr(), err)
		}
	}
	want := "cluster_known_nodes:" + strconv.Itoa(len(all))
	for i, node := range nodes {
		if err := waitInfo(ctx, node, all[i].Addr(), want); err != nil {
			return err
		}
	}
	for i := range masters {
		id, err := nodes[i].Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return err
		}
		// A node learns the master's id by gossip; it may take a moment.
		for {
			err := nodes[masters+i].Do(ctx, "CLUSTER", "REPLICATE", id).Err()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("REPLICATE %s on %s: %w", id, c.Replicas[i].Addr(), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, node := range nodes {
		if err := waitInfo(ctx, node, all[i].Addr(), "cluster_state:ok"); err != nil {
			return err
		}
	}
	for i, node := range nodes[:masters] {
		for {
			info, err := node.Info(ctx, "replication").Result()
			if err == nil && strings.Contains(info, "state=online") {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("master %s has no replica online: %v", all[i].Addr(), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// WaitTakeover waits until a replica of the Cluster answers as a master
// owning slots and every node reports cluster_state:ok again, after a
// master was stopped; it returns the new master.
func (c *Cluster) WaitTakeover(ctx context.Context, dead *Server) (*Server, error) {
	for {
		for i, m := range c.Masters {
			if m != dead {
				continue
			}
			r := c.Replicas[i]
			node := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
			info, err := node.Info(ctx, "replication").Result()
			state, _ := node.ClusterInfo(ctx).Result()
			node.Close()
			if err == nil && strings.Contains(info, "role:master") && strings.Contains(state, "cluster_state:ok") {
				return r, nil
			}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no replica took over from %s: %w", dead.Addr(), ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitInfo(ctx context.Context, node *redis.Client, addr, want string) error {
	for {
		info, err := node.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, want) {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("node %s not %s within %s: %v\n%s", addr, want, clusterTimeout, err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
