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

// SentinelMaster is the master name the Sentinels of NewSentinel watch.
const SentinelMaster = "mymaster"

// sentinelDownAfter is how long a master must be silent before a Sentinel
// calls it down: short, so a failover takes a second or two, not thirty.
const sentinelDownAfter = 500 * time.Millisecond

// Sentinel is a replicated Redis watched by Sentinels, all on free ports:
// one master, its replicas and the Sentinels (quorum 2), stopped when the
// test ends. The same redis-server binary runs the Sentinels
// (`redis-server <conf> --sentinel`).
type Sentinel struct {
	tb        testing.TB
	Master    *Server
	Replicas  []*Server
	Sentinels []*Server
}

// NewSentinel starts a master with replicas replicas and three Sentinels,
// and waits until the replicas are in sync and every Sentinel knows them.
// It skips like NewCluster when redis-server is missing.
func NewSentinel(tb testing.TB, replicas int) *Sentinel {
	tb.Helper()
	skipWithoutServer(tb)
	dir := tb.TempDir()
	s := &Sentinel{tb: tb}
	start := func(name, conf string, extra ...string) *Server {
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		if conf != "" {
			path := filepath.Join(sub, "sentinel.conf")
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				tb.Fatalf("redistest: %v", err)
			}
			conf = path
		}
		srv, err := startFreeConf(sub, conf, extra)
		if err != nil {
			tb.Fatalf("redistest: sentinel topology: %v", err)
		}
		srv.tb = tb
		tb.Cleanup(srv.stop)
		return srv
	}
	s.Master = start("master", "")
	for i := range replicas {
		s.Replicas = append(s.Replicas, start("replica"+strconv.Itoa(i), "",
			"--replicaof", "127.0.0.1", strconv.Itoa(s.Master.port)))
	}
	conf := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\n"+
		"sentinel down-after-milliseconds %[1]s %[3]d\n"+
		"sentinel failover-timeout %[1]s 5000\n"+
		"sentinel parallel-syncs %[1]s %[4]d\n",
		SentinelMaster, s.Master.port, sentinelDownAfter.Milliseconds(), max(replicas, 1))
	for i := range 3 {
		s.Sentinels = append(s.Sentinels, start("sentinel"+strconv.Itoa(i), conf))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := s.waitReplicas(ctx, s.Master.Addr(), replicas); err != nil {
		tb.Fatalf("redistest: sentinel topology: %v", err)
	}
	for _, sen := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sen.Addr()})
		for {
			m, err := c.Master(ctx, SentinelMaster).Result()
			if err == nil && m["num-slaves"] == strconv.Itoa(replicas) && m["num-other-sentinels"] == "2" {
				break
			}
			if ctx.Err() != nil {
				c.Close()
				tb.Fatalf("redistest: sentinel %s does not know the topology: %v %v", sen.Addr(), m, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return s
}

// Addrs returns the Sentinels' addresses.
func (s *Sentinel) Addrs() []string {
	out := make([]string, len(s.Sentinels))
	for i, sen := range s.Sentinels {
		out[i] = sen.Addr()
	}
	return out
}

// MasterAddr asks a Sentinel which server is the master now.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var last error
	for _, sen := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sen.Addr(), MaxRetries: -1})
		a, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
		c.Close()
		if err == nil && len(a) == 2 {
			return net.JoinHostPort(a[0], a[1]), nil
		}
		last = err
	}
	return "", fmt.Errorf("no Sentinel names the master: %v", last)
}

// WaitFailover waits until the Sentinels name a master other than old and
// that server answers as a master with want replicas in sync.
func (s *Sentinel) WaitFailover(ctx context.Context, old string, want int) (string, error) {
	for {
		addr, err := s.MasterAddr(ctx)
		if err == nil && addr != old {
			if err := s.waitReplicas(ctx, addr, want); err != nil {
				return "", err
			}
			return addr, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("no failover away from %s: %v", old, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ServerAt returns the server of the topology at addr, or nil.
func (s *Sentinel) ServerAt(addr string) *Server {
	for _, srv := range append([]*Server{s.Master}, s.Replicas...) {
		if srv.Addr() == addr {
			return srv
		}
	}
	return nil
}

// waitReplicas waits until the master at addr has want replicas online.
func (s *Sentinel) waitReplicas(ctx context.Context, addr string, want int) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "role:master") &&
			strings.Count(info, "state=online") >= want {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("master %s without %d replicas online: %v\n%s", addr, want, err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
