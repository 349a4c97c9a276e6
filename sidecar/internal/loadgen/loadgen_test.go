package loadgen

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRunCountsEveryCallAndEveryFailure(t *testing.T) {
	seen := make([]bool, 100)
	r := Run(context.Background(), 8, 100, func(_ context.Context, i int) error {
		seen[i] = true // each index is handed out once, so no race
		if i%10 == 0 {
			return errors.New("boom")
		}
		return nil
	})
	for i, s := range seen {
		if !s {
			t.Fatalf("call %d never made", i)
		}
	}
	if r.N != 100 || r.Errors != 10 || len(r.Latencies) != 90 || r.FirstErr == nil || r.Concurrency != 8 {
		t.Fatalf("result = N %d errors %d latencies %d first %v", r.N, r.Errors, len(r.Latencies), r.FirstErr)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	r := Result{Latencies: make([]time.Duration, 100)}
	for i := range r.Latencies {
		r.Latencies[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := r.Percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if (Result{}).Percentile(50) != 0 || (Result{}).Throughput() != 0 {
		t.Error("an empty result has no percentile or throughput")
	}
}

func TestMergeKeepsEveryRoundsFigures(t *testing.T) {
	ms := func(l ...int) []time.Duration {
		out := make([]time.Duration, len(l))
		for i, v := range l {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	boom := errors.New("boom")
	m := Merge(
		Result{Concurrency: 1, N: 3, Elapsed: time.Second, Latencies: ms(5, 6, 9)},
		Result{Concurrency: 1, N: 3, Errors: 1, Elapsed: 2 * time.Second, Latencies: ms(1, 7), FirstErr: boom},
	)
	if m.N != 6 || m.Errors != 1 || m.Elapsed != 3*time.Second || m.FirstErr != boom || m.Concurrency != 1 {
		t.Fatalf("merged = N %d errors %d elapsed %v first %v", m.N, m.Errors, m.Elapsed, m.FirstErr)
	}
	if got, want := m.Latencies, ms(1, 5, 6, 7, 9); !slices.Equal(got, want) {
		t.Fatalf("latencies %v, want %v (sorted, every round's)", got, want)
	}
	if m.Percentile(50) != 6*time.Millisecond {
		t.Errorf("p50 = %v, want 6ms", m.Percentile(50))
	}
}

func TestReadProcReadsThisProcess(t *testing.T) {
	p, err := ReadProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if p.RSS <= 0 || p.HWM < p.RSS || p.Anon <= 0 || p.File <= 0 || p.Anon+p.File > p.RSS {
		t.Fatalf("proc = %+v", p)
	}
	// Spend some time in the kernel, so that Sys has ticks to count.
	for p.Sys == 0 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if p, err = ReadProc(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if p.Sys > p.CPU {
		t.Fatalf("system time %v is more than all CPU time %v", p.Sys, p.CPU)
	}
	if _, err := ReadProc(-1); err == nil {
		t.Fatal("ReadProc(-1) succeeded")
	}
}

func TestTablePrintsAlignedMarkdown(t *testing.T) {
	var tb Table
	tb.Add("what", "value")
	tb.Add("rss idle", "21.0 MB")
	var b strings.Builder
	tb.Print(&b)
	want := "| what     | value   |\n| -------- | ------- |\n| rss idle | 21.0 MB |\n"
	if b.String() != want {
		t.Fatalf("table =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestProxyCountsRequestsNotBytes(t *testing.T) {
	// An echo server that answers each line with one line.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	p, err := NewProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	ask := func(lines ...string) {
		t.Helper()
		if _, err := c.Write([]byte(strings.Join(lines, ""))); err != nil {
			t.Fatal(err)
		}
		for range lines {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
	}
	ask("a\n")
	ask("b\n", "c\n", "d\n") // a pipeline: one round trip
	ask("e\n")
	if got := p.RoundTrips(); got != 3 {
		t.Fatalf("round trips = %d, want 3", got)
	}
}

func TestParseRedisInfoReadsCPUAndWrites(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:0.250000\r\nused_cpu_sys_children:9.000000\r\n\r\n" +
		"# Stats\r\ntotal_connections_received:3\r\ntotal_writes_processed:42\r\ntotal_reads_processed:50\r\n"
	r, err := ParseRedisInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	if r.CPU != 1750*time.Millisecond || r.Writes != 42 {
		t.Fatalf("info = %+v, want 1.75s and 42 writes", r)
	}
	// Between two readings, the first reading's own answer is one write.
	if got := (RedisInfo{Writes: 50}).TripsSince(r); got != 7 {
		t.Fatalf("trips = %d, want 7", got)
	}
	if _, err := ParseRedisInfo("# CPU\r\nused_cpu_sys:1\r\nused_cpu_user:1\r\n"); err == nil {
		t.Fatal("INFO cpu alone (no stats) parsed")
	}
}
