package loadgen

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RedisInfo is what redis-server says of itself in `INFO cpu stats` (one
// command, Redis 7): the figures the bench reads before and after a run.
type RedisInfo struct {
	// CPU is used_cpu_user plus used_cpu_sys.
	CPU time.Duration
	// Writes is total_writes_processed: how many times the server wrote
	// answers to a client. A client that sends a command, a pipeline, a
	// script or a MULTI/EXEC and waits for the answer gets one write: a
	// round trip, counted by the server, with no proxy in the client's
	// path. (Redis's command counters cannot tell these apart: they count
	// each command of a pipeline and each one a script runs.)
	Writes int64
}

// ParseRedisInfo reads the INFO answer.
func ParseRedisInfo(info string) (RedisInfo, error) {
	var r RedisInfo
	var cpu float64
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch name {
		case "used_cpu_user", "used_cpu_sys":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return RedisInfo{}, fmt.Errorf("loadgen: INFO %s: %w", name, err)
			}
			cpu += f
			seen++
		case "total_writes_processed":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return RedisInfo{}, fmt.Errorf("loadgen: INFO %s: %w", name, err)
			}
			r.Writes = n
			seen++
		}
	}
	if seen != 3 {
		return RedisInfo{}, fmt.Errorf("loadgen: INFO lacks used_cpu_user, used_cpu_sys or total_writes_processed (ask for the cpu and stats sections)")
	}
	r.CPU = time.Duration(cpu * float64(time.Second))
	return r, nil
}

// TripsSince is the round trips other clients made between the reading
// before and this one. The reading's own INFO is a round trip too: the
// answer to before's was written after before's figures were taken, so the
// difference holds exactly one write of the reader's own.
func (r RedisInfo) TripsSince(before RedisInfo) int64 { return r.Writes - before.Writes - 1 }
