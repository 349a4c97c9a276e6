// Package loadgen drives a request function at a fixed concurrency and
// reports throughput and latency percentiles, and reads a process's CPU
// time and memory from /proc: the parts of `make bench` that are not about
// what is measured. It asserts nothing about speed; the table is for people.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one run of Run.
type Result struct {
	Concurrency int
	N, Errors   int
	Elapsed     time.Duration
	// Latencies of the requests that succeeded, sorted.
	Latencies []time.Duration
	// FirstErr is the first failure, for the report.
	FirstErr error
}

// Throughput is successful requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.N-r.Errors) / r.Elapsed.Seconds()
}

// Percentile returns the p-th percentile latency (0 < p ≤ 100), nearest
// rank; 0 when nothing succeeded.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Merge is one Result of runs made one after another at the same
// concurrency: their counts, times and latencies together.
func Merge(rs ...Result) Result {
	var m Result
	for _, r := range rs {
		m.Concurrency = r.Concurrency
		m.N += r.N
		m.Errors += r.Errors
		m.Elapsed += r.Elapsed
		m.Latencies = append(m.Latencies, r.Latencies...)
		if m.FirstErr == nil {
			m.FirstErr = r.FirstErr
		}
	}
	slices.Sort(m.Latencies)
	return m
}

// Run calls do n times (i from 0 to n-1) from c goroutines at once and
// times each call. A failed call counts in Errors and not in the latencies.
func Run(ctx context.Context, c, n int, do func(ctx context.Context, i int) error) Result {
	if c < 1 {
		c = 1
	}
	var (
		next   atomic.Int64
		mu     sync.Mutex
		wg     sync.WaitGroup
		errs   int
		first  error
		lat    = make([]time.Duration, 0, n)
		starts = time.Now()
	)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/c+1)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				err := do(ctx, i)
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					errs++
					if first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(starts)
	slices.Sort(lat)
	return Result{Concurrency: c, N: n, Errors: errs, Elapsed: elapsed, Latencies: lat, FirstErr: first}
}

// Proc is what /proc says of one process at one moment.
type Proc struct {
	// CPU is user plus system time so far, Sys the system part: time in
	// the kernel on the process's behalf (syscalls, page faults).
	CPU, Sys time.Duration
	// RSS is the resident set now, HWM its peak so far (bytes).
	RSS, HWM int64
	// Anon and File split RSS: memory the process made, and pages of
	// files it maps (its own binary above all). How many of those are
	// resident depends on the kernel's page cache too: mapping one page
	// maps the cached pages around it.
	Anon, File int64
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux the project runs on (it is fixed by the kernel's ABI, not by HZ).
const clockTick = 100

// ReadProc reads pid's CPU time and memory from /proc (Linux only).
func ReadProc(pid int) (Proc, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Proc{}, fmt.Errorf("loadgen: %w", err)
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. utime and stime are fields 14 and 15.
	s := string(stat)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return Proc{}, errors.New("loadgen: unreadable /proc stat")
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return Proc{}, errors.New("loadgen: short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	p := Proc{CPU: time.Duration(ut+st) * time.Second / clockTick, Sys: time.Duration(st) * time.Second / clockTick}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Proc{}, fmt.Errorf("loadgen: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			p.RSS = kb << 10
		case "VmHWM":
			p.HWM = kb << 10
		case "RssAnon":
			p.Anon = kb << 10
		case "RssFile":
			p.File = kb << 10
		}
	}
	return p, nil
}

// Table is rows of label and value columns, printed aligned.
type Table struct {
	Title string
	rows  [][]string
}

// Add appends one row.
func (t *Table) Add(cols ...string) { t.rows = append(t.rows, cols) }

// Print writes the table as Markdown, so it can be pasted into the README.
func (t *Table) Print(w io.Writer) {
	if len(t.rows) == 0 {
		return
	}
	width := map[int]int{}
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	if t.Title != "" {
		fmt.Fprintf(w, "\n%s\n\n", t.Title)
	}
	line := func(r []string) {
		var b strings.Builder
		b.WriteString("|")
		for i := range len(width) {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(t.rows[0])
	sep := make([]string, len(width))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range t.rows[1:] {
		line(r)
	}
}

// Ms formats a duration in milliseconds with two decimals.
func Ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

// MB formats bytes in MB with one decimal.
func MB(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MB" }
