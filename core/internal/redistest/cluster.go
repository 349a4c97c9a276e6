package redistest

import (
	"context"
	"fmt"
	"os"
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
	if _, err := lookPath(); err != nil {
		// Also on stderr: go test shows a skipped test's log only with -v.
		banner := fmt.Sprintf("%[1]s\n!! SKIPPING %[2]s: no Redis Cluster without redis-server.\n!! %[3]v\n%[1]s",
			strings.Repeat("!", 72), tb.Name(), err)
		fmt.Fprintln(os.Stderr, banner)
		tb.Skip(banner)
	}

	servers := make([]*Server, masters)
	addrs := make([]string, masters)
	for i := range servers {
		servers[i] = newServer(tb, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
		})
		addrs[i] = servers[i].Addr()
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
			tb.Fatalf("redistest: cluster: ADDSLOTS %d-%d on %s: %v", from, to-1, addrs[i], err)
		}
	}
	for _, addr := range addrs[1:] {
		host, port := splitHostPort(tb, addr)
		if err := nodes[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			tb.Fatalf("redistest: cluster: MEET %s: %v", addr, err)
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
				tb.Fatalf("redistest: cluster: node %s not ok within %s: %v\n%s", addrs[i], clusterTimeout, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

func splitHostPort(tb testing.TB, addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		tb.Fatalf("redistest: bad address %q", addr)
	}
	return addr[:i], addr[i+1:]
}
