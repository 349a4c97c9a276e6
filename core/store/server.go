package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The settings LAYOUT.md ("What the store requires of Redis") asks for.
const (
	RequiredPolicy = "noeviction" // maxmemory-policy
	RequiredFsync  = "always"     // appendfsync
)

// ServerReport is what the Redis servers said about keeping data: one
// NodeReport for a single server or a Sentinel's master, one per master of a
// Cluster. The store only reports; the program decides what is fatal.
type ServerReport struct {
	Embedded bool // the in-process store: nothing survives the process
	Nodes    []NodeReport
}

// NodeReport is one server's answer.
type NodeReport struct {
	Addr string
	// Via is how the settings were read: "config" (CONFIG GET), "info"
	// (INFO, when CONFIG is refused, as managed Redis often does), or ""
	// when neither answered (Err says why); then nothing below is known.
	Via    string
	Policy string // maxmemory-policy, e.g. "noeviction"
	AOF    bool   // appendonly yes
	// Fsync is appendfsync (always, everysec, no); "" when unknown: INFO
	// does not show it.
	Fsync string
	Err   error
}

// Problem kinds, each a setting LAYOUT.md requires.
const (
	ProblemEviction ProblemKind = "eviction" // maxmemory-policy is not noeviction, or the store is embedded
	ProblemAOF      ProblemKind = "aof"      // appendonly is off
	ProblemFsync    ProblemKind = "fsync"    // appendfsync is not always
)

// ProblemKind names the setting a Problem is about.
type ProblemKind string

// Problem is one setting weaker than the store requires, or one that could
// not be read (Unknown).
type Problem struct {
	Kind    ProblemKind
	Node    string // the server's address; "embedded" for the in-process store
	Value   string // what the server has, e.g. "allkeys-lru"; "" when Unknown
	Unknown bool   // the setting could not be read
}

// String says what the problem costs, for a log line.
func (p Problem) String() string {
	if p.Unknown {
		return fmt.Sprintf("%s: %s unknown (neither CONFIG GET nor INFO shows it)", p.Node, p.setting())
	}
	if p.Node == embeddedNode {
		return "embedded store: everything is lost when the process ends"
	}
	switch p.Kind {
	case ProblemEviction:
		return fmt.Sprintf("%s: maxmemory-policy is %s, not noeviction: a full Redis deletes keys (orders, idempotency records) silently", p.Node, p.Value)
	case ProblemAOF:
		return fmt.Sprintf("%s: appendonly is no: a Redis restart loses every write since the last snapshot, or everything", p.Node)
	default:
		return fmt.Sprintf("%s: appendfsync is %s, not always: a crash of the Redis host loses the last acknowledged writes (about 1 s with everysec)", p.Node, p.Value)
	}
}

func (p Problem) setting() string {
	switch p.Kind {
	case ProblemEviction:
		return "maxmemory-policy"
	case ProblemAOF:
		return "appendonly"
	}
	return "appendfsync"
}

const embeddedNode = "embedded"

// Problems lists every setting weaker than required, node by node; nil
// when the store keeps what it acknowledges.
func (r ServerReport) Problems() []Problem {
	if r.Embedded {
		return []Problem{
			{Kind: ProblemEviction, Node: embeddedNode, Value: "embedded"},
			{Kind: ProblemAOF, Node: embeddedNode, Value: "embedded"},
			{Kind: ProblemFsync, Node: embeddedNode, Value: "embedded"},
		}
	}
	var ps []Problem
	for _, n := range r.Nodes {
		if n.Via == "" {
			for _, k := range []ProblemKind{ProblemEviction, ProblemAOF, ProblemFsync} {
				ps = append(ps, Problem{Kind: k, Node: n.Addr, Unknown: true})
			}
			continue
		}
		if n.Policy != RequiredPolicy {
			ps = append(ps, Problem{Kind: ProblemEviction, Node: n.Addr, Value: n.Policy})
		}
		if !n.AOF {
			ps = append(ps, Problem{Kind: ProblemAOF, Node: n.Addr, Value: "no"})
			continue // fsync does not matter without an AOF
		}
		switch n.Fsync {
		case RequiredFsync:
		case "":
			ps = append(ps, Problem{Kind: ProblemFsync, Node: n.Addr, Unknown: true})
		default:
			ps = append(ps, Problem{Kind: ProblemFsync, Node: n.Addr, Value: n.Fsync})
		}
	}
	return ps
}

// Evicting reports a store that may delete keys on its own: an eviction
// policy on some node, or the embedded store. An unknown policy is not
// counted: Problems says so.
func (r ServerReport) Evicting() bool {
	for _, p := range r.Problems() {
		if p.Kind == ProblemEviction && !p.Unknown {
			return true
		}
	}
	return false
}

// CheckServer asks every server that holds the store's data how it keeps
// it. It fails only when ctx ends; a server that answers neither CONFIG GET
// nor INFO is in the report with Err set.
func (d *DB) CheckServer(ctx context.Context) (ServerReport, error) {
	if d.embedded {
		return ServerReport{Embedded: true}, nil
	}
	var (
		mu    sync.Mutex
		nodes []NodeReport
	)
	add := func(n NodeReport) {
		mu.Lock()
		nodes = append(nodes, n)
		mu.Unlock()
	}
	if cc, ok := d.rdb.(*redis.ClusterClient); ok {
		// A Cluster keeps its data on every master: the weakest decides.
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			add(checkNode(ctx, c, c.Options().Addr))
			return nil
		})
		if err != nil {
			add(NodeReport{Addr: "cluster", Err: wrapRedis(ctx, "check server", err)})
		}
	} else {
		add(checkNode(ctx, d.rdb, d.addr))
	}
	if err := ctx.Err(); err != nil {
		return ServerReport{}, fmt.Errorf("store: check server: %w", err)
	}
	return ServerReport{Nodes: nodes}, nil
}

// checkNode reads one server's settings: CONFIG GET where allowed, INFO
// otherwise.
func checkNode(ctx context.Context, c redis.Cmdable, addr string) NodeReport {
	n := NodeReport{Addr: addr}
	cfgErr := configGet(ctx, c, &n)
	if cfgErr == nil {
		n.Via = "config"
		return n
	}
	n = NodeReport{Addr: addr}
	infoErr := infoGet(ctx, c, &n)
	if infoErr == nil {
		n.Via = "info"
		return n
	}
	return NodeReport{Addr: addr, Err: errors.Join(
		wrapRedis(ctx, "CONFIG GET", cfgErr), wrapRedis(ctx, "INFO", infoErr))}
}

func configGet(ctx context.Context, c redis.Cmdable, n *NodeReport) error {
	// One parameter per call: CONFIG GET takes several only since Redis 7.
	get := func(name string) (string, error) {
		m, err := c.ConfigGet(ctx, name).Result()
		if err != nil {
			return "", err
		}
		v, ok := m[name]
		if !ok {
			return "", fmt.Errorf("CONFIG GET %s: no such setting", name)
		}
		return v, nil
	}
	var err error
	if n.Policy, err = get("maxmemory-policy"); err != nil {
		return err
	}
	aof, err := get("appendonly")
	if err != nil {
		return err
	}
	n.AOF = aof == "yes"
	n.Fsync, err = get("appendfsync")
	return err
}

func infoGet(ctx context.Context, c redis.Cmdable, n *NodeReport) error {
	// One section per call: INFO takes several only since Redis 7.
	var s string
	for _, section := range []string{"persistence", "memory"} {
		v, err := c.Info(ctx, section).Result()
		if err != nil {
			return err
		}
		s += v
	}
	var aof, policy bool
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "aof_enabled":
			n.AOF, aof = v == "1", true
		case "maxmemory_policy":
			n.Policy, policy = v, true
		}
	}
	if !aof || !policy {
		return errors.New("INFO shows no aof_enabled or maxmemory_policy")
	}
	return nil
}
