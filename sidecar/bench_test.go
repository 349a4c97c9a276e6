package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/loadgen"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/pluginhost"
)

// TestBenchTable is `make bench`'s table (TRUSTLY_BENCH=full): the real
// binary on a real redis-server and the simulator, measured side by side in
// one run, printed as one Markdown table. In `make test` it runs with a few
// requests per row, so the bench cannot rot; it asserts that every request
// was answered, never how fast.
func TestBenchTable(t *testing.T) {
	if binPath == "" {
		t.Skip("go tool not found, binary not built")
	}
	full := os.Getenv("TRUSTLY_BENCH") == "full"
	perLevel, calls, starts, rounds := 24, 8, 1, 2
	if full {
		perLevel, calls, starts, rounds = 3000, 300, 7, 10
	}
	ctx := t.Context()
	// A redis-server of the bench's own, which serve talks to directly: its
	// counters then hold serve's round trips and the bench's own readings
	// (taken out, see loadgen.RedisInfo), nothing of other tests.
	red := startPrivateRedis(t)
	rdb := red.rdb
	s, _, simKeyFile := startTestSim(t)
	pub, priv := freeAddr(t), freeAddr(t)
	env := validEnv(t).with("TRUSTLY_URL", s.APIURL(), "TRUSTLY_PUBLIC_KEY_FILE", simKeyFile,
		"PUBLIC_ADDR", pub, "PRIVATE_ADDR", priv, "REDIS_MODE", "single", "REDIS_ADDRS", red.addr, "REDIS_PREFIX", testPrefix(t))
	// TRUSTLY_BENCH_PPROF=<dir> also writes CPU profiles of serve (the
	// payments, and notifications at concurrency 16) for `go tool pprof`.
	profDir := os.Getenv("TRUSTLY_BENCH_PPROF")
	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			t.Fatal(err)
		}
		env = env.with("PPROF", "true", "SHOP_API_TOKEN", testToken)
	}
	profile := func(name string, d time.Duration) (wait func()) {
		if profDir == "" {
			return func() {}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := fetchProfile(priv, filepath.Join(profDir, name+".pprof"), d); err != nil {
				t.Errorf("profile %s: %v", name, err)
			}
		}()
		return func() { <-done }
	}
	readyz := "http://" + priv + "/readyz"
	// Start to ready, without and with an adapter (the built-in generic
	// one, which serve starts as its own process): each sample a new
	// serve, stopped once ready, before anything is counted.
	withAdapter := env.with("ADAPTER", generic.Name,
		"ADAPTER_ENV", generic.EnvCallbackURL+","+generic.EnvCallbackSecret+","+generic.EnvWebhookSecret)
	maps.Copy(withAdapter, envMap{generic.EnvCallbackURL: "http://127.0.0.1:9/", generic.EnvCallbackSecret: string(callbackSecret),
		generic.EnvWebhookSecret: "whsec_0123456789abcdef"})
	// The base, when there is one, starts in turns with this build, with
	// the same settings but the pprof endpoint, which older revisions lack.
	base, withBase := baseFor(t, full)
	baseEnv, baseAdapter := env.with("PPROF", ""), withAdapter.with("PPROF", "")
	var bare, adapted, version, baseBare, baseAdapted []time.Duration
	for range starts {
		version = append(version, timeVersion(t))
		for _, c := range []struct {
			bin  string
			env  envMap
			last string
			to   *[]time.Duration
		}{{binPath, env, lastListener, &bare}, {binPath, withAdapter, adapterUp, &adapted},
			{base.bin, baseEnv, lastListener, &baseBare}, {base.bin, baseAdapter, adapterUp, &baseAdapted}} {
			if c.bin == "" {
				continue
			}
			p := startTimed(t, c.bin, c.env, readyz, c.last)
			*c.to = append(*c.to, p.ready)
			p.stop(t)
		}
	}
	p := startTimed(t, binPath, env, readyz, lastListener)
	pid := p.pid
	time.Sleep(200 * time.Millisecond) // let start-up settle before "idle"
	idle := readProc(t, pid)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 30 * time.Second}
	post := func(ctx context.Context, url, key string, body []byte) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		if profDir != "" {
			req.Header.Set("Authorization", "Bearer "+testToken)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode/100 != 2 {
			return b, fmt.Errorf("%s: status %d: %.200s", url, resp.StatusCode, b)
		}
		return b, nil
	}

	// Payments through the sidecar, and the same Deposit from the
	// project's client alone against the same simulator: in a process of
	// its own, as a shop's client would be (the sidecar's call crosses from
	// serve to the simulator's process too), and in the simulator's own.
	// The three take turns in rounds, so that a machine busier in one part
	// of the run than in another moves all three alike.
	type created struct{ ID, TrustlyOrderID, MessageID string }
	orders := make([]created, calls)
	mk := merchantKey(t)
	client, err := trustly.NewClient(trustly.ClientConfig{Environment: trustly.Sim, URL: s.APIURL(),
		Credentials: trustly.Credentials{Username: "merchant", Password: testPassword}, PrivateKey: mk, TrustlyPublicKey: s.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	notifyURL := "http://" + pub + "/trustly/notifications/" + testSecret
	// pay sends round's share of the payments to the shop API at addr.
	pay := func(addr string, into []created, round, per int) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			i += round * per
			b, err := post(ctx, "http://"+addr+"/v1/payments", fmt.Sprintf("bench-%d", i), []byte(strings.Replace(paymentBody, "%s", "", 1)))
			if err != nil {
				return err
			}
			return json.Unmarshal(b, &into[i])
		}
	}
	// The base's serve takes its turn after this build's in each round,
	// on a redis-server of its own: its background loops keep running
	// while this build's round trips are counted.
	var basePub, basePriv string
	var basePid int
	baseOrders := make([]created, calls)
	if withBase {
		basePub, basePriv = freeAddr(t), freeAddr(t)
		basePid = startTimed(t, base.bin, baseEnv.with("PUBLIC_ADDR", basePub, "PRIVATE_ADDR", basePriv, "REDIS_ADDRS", startPrivateRedis(t).addr),
			"http://"+basePriv+"/readyz", lastListener).pid
	}
	// The openssl build of this tree, on a redis-server of its own, with
	// orders of its own: its notifications are compared with this build's
	// below.
	var ossl struct {
		bin, crypto, pub string
		pid              int
		orders           []created
	}
	if ossl.bin, ossl.crypto = opensslBuild(t); ossl.bin != "" {
		var osslPriv string
		ossl.pub, osslPriv = freeAddr(t), freeAddr(t)
		ossl.pid = startTimed(t, ossl.bin, baseEnv.with("PUBLIC_ADDR", ossl.pub, "PRIVATE_ADDR", osslPriv, "REDIS_ADDRS", startPrivateRedis(t).addr),
			"http://"+osslPriv+"/readyz", lastListener).pid
		ossl.orders = make([]created, min(calls, 20))
		if r := loadgen.Run(ctx, 1, len(ossl.orders), pay(osslPriv, ossl.orders, 0, len(ossl.orders))); r.Errors > 0 {
			t.Fatalf("openssl build: %d of %d payments failed: %v", r.Errors, r.N, r.FirstErr)
		}
	}
	// The floor (bench_floor_test.go): the same payments and pendings to
	// routes of net/http, core/trustly and Redis, nothing else.
	floorPid, floorPub := startFloor(t, s.APIURL(), simKeyFile, notifyURL)
	floorOrders := make([]created, calls)
	var viaSidecar, viaBase, viaFloor, alone, apart, hops, redisTrips, redisWoken, redisBeside []loadgen.Result
	var paymentTrips int64
	var paymentRedisCPU time.Duration
	profiled := profile("payments", time.Second)
	for round, per := 0, calls/rounds; round < rounds; round++ {
		infoBefore := redisInfo(t, rdb)
		viaSidecar = append(viaSidecar, loadgen.Run(ctx, 1, per, pay(priv, orders, round, per)))
		infoAfter := redisInfo(t, rdb)
		paymentTrips += infoAfter.TripsSince(infoBefore)
		paymentRedisCPU += infoAfter.CPU - infoBefore.CPU
		if withBase {
			viaBase = append(viaBase, loadgen.Run(ctx, 1, per, pay(basePriv, baseOrders, round, per)))
		}
		viaFloor = append(viaFloor, loadgen.Run(ctx, 1, per, pay(floorPub, floorOrders, round, per)))
		alone = append(alone, loadgen.Run(ctx, 1, per, func(ctx context.Context, i int) error {
			_, err := client.Deposit(ctx, benchDeposit(notifyURL))
			return err
		}))
		apart = append(apart, clientAloneApart(t, s.APIURL(), simKeyFile, notifyURL, per))
		// What this machine charges for the hops a payment adds: one
		// HTTP round trip to serve, one Redis round trip.
		hops = append(hops, loadgen.Run(ctx, 1, per, func(ctx context.Context, _ int) error {
			resp, err := hc.Get("http://" + pub + "/healthz")
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		}))
		redisTrips = append(redisTrips, loadgen.Run(ctx, 1, per, func(ctx context.Context, _ int) error {
			return rdb.Ping(ctx).Err()
		}))
		// A payment's round trips come after its ends idled (waiting for
		// Trustly, signing): the same PING after a millisecond of sleep,
		// timed from the send, pays for waking both. Its claim also runs
		// beside its Deposit's signature, in the same process: a machine
		// that cannot run both at once ends the PING with the signature.
		redisWoken = append(redisWoken, pingsAfterIdle(t, rdb, per, nil))
		redisBeside = append(redisBeside, pingsAfterIdle(t, rdb, per, func() error {
			_, err := trustly.Sign(mk, "credit", "bench", map[string]any{"status": "OK"})
			return err
		}))
	}
	profiled()
	paid, basePaid, floorPaid := loadgen.Merge(viaSidecar...), loadgen.Merge(viaBase...), loadgen.Merge(viaFloor...)
	perPayment := float64(paymentTrips) / float64(paid.N)
	for _, r := range []loadgen.Result{paid, basePaid, floorPaid, loadgen.Merge(alone...)} {
		if r.Errors > 0 {
			t.Fatalf("%d of %d Deposits failed: %v", r.Errors, r.N, r.FirstErr)
		}
	}

	// Notifications: a pending for the orders above, each with its own
	// notificationid, signed beforehand so the load generator only sends.
	levels := []int{1, 4, 16, 64}
	bodies := make([][][]byte, len(levels))
	for l := range levels {
		bodies[l] = make([][]byte, perLevel)
		for i := range perLevel {
			o := orders[i%len(orders)]
			bodies[l][i] = pendingBody(t, o.TrustlyOrderID, o.MessageID, fmt.Sprintf("bench-%d-%d", l, i))
		}
	}

	// notify posts one notification to the public listener at addr and
	// wants OK back.
	notify := func(ctx context.Context, addr string, body []byte) error {
		b, err := post(ctx, "http://"+addr+"/trustly/notifications/"+testSecret, "", body)
		if err == nil && !strings.Contains(string(b), `"status":"OK"`) {
			err = fmt.Errorf("reply %.200s", b)
		}
		return err
	}
	cores := runtime.NumCPU()
	tab := loadgen.Table{Title: fmt.Sprintf("make bench: %d cores, %d notifications per row, %d payments (%s)", cores, perLevel, calls, runtime.Version())}
	tab.Add("measure", "value", "note")
	var cpuTotal time.Duration
	var notes, nTrips, boundOps int64
	var notesRedisCPU time.Duration
	var boundCPU time.Duration
	// The machine may be shared, and what this VM gets of it drifts by
	// more than 10 % within seconds (a bound of 1,739/s before one row and
	// 2,041/s before the next, in one run; on another VM, a signature's CPU
	// time went from 1.03 to 1.87 ms within 30 s): the bound and the route
	// take turns, a twelfth of each row at a time, so that both see the
	// same machine, and each turn's own ratio is kept to show the spread.
	const turns = 12
	part := max(perLevel/turns, 1)
	for l, c := range levels {
		var rs []loadgen.Result
		var b bound
		var cpu, sys, others time.Duration
		var perTurn []float64
		profiled := func() {}
		if c == 16 { // over the turns: serve idles while the bound runs
			profiled = profile("notifications", 2*time.Second)
		}
		for turn := range turns {
			tb := cryptoBound(t, bodies[0][0], s.PublicKey(), mk, max(part/2, 12))
			b = b.plus(tb)
			before, infoBefore, selfBefore := readProc(t, pid), redisInfo(t, rdb), readProc(t, os.Getpid())
			r := loadgen.Run(ctx, c, part, func(ctx context.Context, i int) error {
				return notify(ctx, pub, bodies[l][turn*part+i])
			})
			after, infoAfter := readProc(t, pid), redisInfo(t, rdb)
			if r.Errors > 0 {
				t.Fatalf("concurrency %d: %d of %d notifications failed: %v", c, r.Errors, r.N, r.FirstErr)
			}
			rs = append(rs, r)
			cpu += after.CPU - before.CPU
			sys += after.Sys - before.Sys
			nTrips += infoAfter.TripsSince(infoBefore)
			redisCPU := infoAfter.CPU - infoBefore.CPU
			notesRedisCPU += redisCPU
			// The bound is for all cores; the load generator and Redis ran
			// on the same ones, so the share they used is not the sidecar's.
			o := redisCPU + (readProc(t, os.Getpid()).CPU - selfBefore.CPU)
			others += o
			if l := leftOf(o, cores, r.Elapsed); l > 0 && tb.rate() > 0 { // 0 when CPU ticks outran a short turn
				perTurn = append(perTurn, r.Throughput()/(tb.rate()*l))
			}
		}
		profiled()
		r := loadgen.Merge(rs...)
		boundOps += b.ops
		boundCPU += b.cpu
		cpuTotal += cpu
		notes += int64(r.N)
		bound := b.rate()
		left := leftOf(others, cores, r.Elapsed)
		// The same in CPU terms, which other users of the machine move
		// less: serve's CPU per notification and the crypto's part of it.
		perNote, cryptoPer := cpu/time.Duration(r.N), b.cpu/time.Duration(b.ops)
		tab.Add(fmt.Sprintf("notifications, concurrency %d", c),
			fmt.Sprintf("%.0f/s, p50 %s, p99 %s", r.Throughput(), loadgen.Ms(r.Percentile(50)), loadgen.Ms(r.Percentile(99))),
			fmt.Sprintf("bound %.0f/s: %.2f of it, %.2f of what load generator and Redis left (they used %.0f %%; each turn's %s); CPU %s per notification (%.0f %% in the kernel), crypto %.2f of it",
				bound, r.Throughput()/bound, r.Throughput()/(bound*left), 100*(1-left), spread(perTurn),
				loadgen.Ms(perNote), 100*share(sys, cpu), share(cryptoPer, perNote)))
	}
	load := readProc(t, pid)
	cryptoPer, sidecarPer := boundCPU/time.Duration(boundOps), cpuTotal/time.Duration(notes)
	tab.Add("crypto CPU per notification", loadgen.Ms(cryptoPer), "parse, verify (Trustly's key), sign the reply (merchant's key): core/trustly, this build's crypto; each row's own, in turns with it")
	tab.Add("sidecar CPU per notification", loadgen.Ms(sidecarPer), "utime+stime of the serve process over every row")
	// versus sends the same pendings at concurrency 16 to this build and to
	// another serve (at otherPub, knowing otherOrders), in turns, and gives
	// each one's CPU per notification and throughput.
	turns16, each16 := 12, max(perLevel/12, 8)
	versus := func(what string, otherPid int, otherPub string, otherOrders []created) (per [2]time.Duration, rate [2]float64) {
		var took [2]time.Duration
		var sent [2]int
		per = cpuInTurns(t, [2]int{pid, otherPid}, turns16, func(side, turn int) int {
			addr, known := pub, orders
			if side == 1 {
				addr, known = otherPub, otherOrders
			}
			bodies := make([][]byte, each16)
			for i := range bodies {
				o := known[i%len(known)]
				bodies[i] = pendingBody(t, o.TrustlyOrderID, o.MessageID, fmt.Sprintf("%s-%d-%d-%d", what, side, turn, i))
			}
			r := loadgen.Run(ctx, 16, each16, func(ctx context.Context, i int) error {
				return notify(ctx, addr, bodies[i])
			})
			if r.Errors > 0 {
				t.Fatalf("%s comparison: %d of %d notifications failed: %v", what, r.Errors, r.N, r.FirstErr)
			}
			took[side] += r.Elapsed
			sent[side] += r.N
			return r.N
		})
		for side := range rate {
			rate[side] = float64(sent[side]) / took[side].Seconds()
		}
		return per, rate
	}
	if withBase {
		per, _ := versus("base", basePid, basePub, baseOrders)
		tab.Add("base: sidecar CPU per notification", loadgen.Ms(per[1]), baseRow(base, fmt.Sprintf("concurrency 16, %d each", turns16*each16), per[0], per[1]))
	}
	if ossl.bin != "" {
		per, rate := versus("openssl", ossl.pid, ossl.pub, ossl.orders)
		tab.Add("openssl build: sidecar CPU per notification", loadgen.Ms(per[1]),
			fmt.Sprintf("make build CRYPTO=openssl of this tree (crypto: %s), in turns with this build (concurrency 16, %d each): %.2f× this build's %s; %.0f/s against %.0f/s (%.2f×)",
				ossl.crypto, turns16*each16, share(per[1], per[0]), loadgen.Ms(per[0]), rate[1], rate[0], rate[1]/rate[0]))
	}

	per, rate := versus("floor", floorPid, floorPub, orders)
	tab.Add("floor: CPU per notification", loadgen.Ms(per[1]),
		fmt.Sprintf("net/http, core/trustly and one Redis script, nothing else, in turns with this build (concurrency 16, %d each): crypto %.2f of it, this build's %.2f; this build %.2f× its CPU, %.2f× its throughput (%.0f/s against %.0f/s)",
			turns16*each16, share(cryptoPer, per[1]), share(cryptoPer, per[0]), share(per[0], per[1]), rate[0]/rate[1], rate[0], rate[1]))
	tab.Add("crypto share of the sidecar's CPU", fmt.Sprintf("%.2f", share(cryptoPer, sidecarPer)),
		"the bound in CPU terms, which other users of the machine move less; per row above")
	tab.Add("Redis round trips per notification", fmt.Sprintf("%.2f", float64(nTrips)/float64(notes)),
		"counted by redis-server (answers written, INFO stats; background loops included); a pending of a known order")
	tab.Add("Redis round trips per POST /v1/payments", fmt.Sprintf("%.2f", perPayment), "idempotency claim to stored answer")
	// What one redis-server core can carry: Redis is single-threaded, so
	// 1 s over this is the most it answers per second, whatever serve does.
	tab.Add("Redis CPU per notification / per payment", loadgen.Ms(notesRedisCPU/time.Duration(notes))+" / "+loadgen.Ms(paymentRedisCPU/time.Duration(paid.N)),
		"used_cpu_user+sys of redis-server over the notification rows and the payments (background loops included): what one Redis core spends on each, for sizing it")
	inProcess, ownProcess := loadgen.Merge(alone...), loadgen.Merge(apart...)
	tab.Add("Deposit through the sidecar", fmt.Sprintf("p50 %s, p99 %s", loadgen.Ms(paid.Percentile(50)), loadgen.Ms(paid.Percentile(99))),
		fmt.Sprintf("POST /v1/payments, sequential, serve to Redis directly; %d rounds, taking turns with the two below", rounds))
	tab.Add("Deposit, client alone", fmt.Sprintf("p50 %s, p99 %s", loadgen.Ms(ownProcess.Percentile(50)), loadgen.Ms(ownProcess.Percentile(99))), "core/trustly client to the same simulator, from a process of its own")
	tab.Add("Deposit, client in the simulator's process", fmt.Sprintf("p50 %s, p99 %s", loadgen.Ms(inProcess.Percentile(50)), loadgen.Ms(inProcess.Percentile(99))), "no hop between processes: a floor no deployment has")
	hop, trip, wokenTrip := loadgen.Merge(hops...).Percentile(50), loadgen.Merge(redisTrips...).Percentile(50), loadgen.Merge(redisWoken...).Percentile(50)
	added := paid.Percentile(50) - ownProcess.Percentile(50)
	// Loops that never sleep: a lower bound of the hops a payment makes,
	// whose ends wait and are woken.
	tab.Add("Deposit added latency", "p50 "+loadgen.Ms(added), fmt.Sprintf("sidecar minus client alone (what this machine charges for a hop: the two rows below); %s against the client in the simulator's process",
		loadgen.Ms(paid.Percentile(50)-inProcess.Percentile(50))))
	floorAdded := floorPaid.Percentile(50) - ownProcess.Percentile(50)
	tab.Add("floor: Deposit added latency", "p50 "+loadgen.Ms(floorAdded),
		fmt.Sprintf("the floor's POST /v1/payments (p50 %s) minus client alone: the hop and a payment's three round trips (claim, order, answer), the Deposit signed beside the first two, nothing else; after this build's in each round; this build %s more",
			loadgen.Ms(floorPaid.Percentile(50)), loadgen.Ms(added-floorAdded)))
	if withBase {
		baseAdded := basePaid.Percentile(50) - ownProcess.Percentile(50)
		tab.Add("base: Deposit added latency", "p50 "+loadgen.Ms(baseAdded), baseRow(base, "the base's serve after this build's in each round", added, baseAdded))
	}
	tab.Add("this machine: HTTP round trip to serve", "p50 "+loadgen.Ms(hop), "GET /healthz on the public listener, back to back, in turns with the Deposits: the hop a shop's call to the sidecar adds")
	tab.Add("this machine: Redis round trip", fmt.Sprintf("p50 %s back to back, %s after 1 ms idle, %s beside a signature", loadgen.Ms(trip), loadgen.Ms(wokenTrip),
		loadgen.Ms(loadgen.Merge(redisBeside...).Percentile(50))),
		"PING, one connection, in turns with the Deposits; after idling, both ends are woken, as in a payment; beside a signature, a goroutine of the same process signs meanwhile (core/trustly), as a Deposit's does beside its claim: where that PING takes as long as a signature, so does the claim")
	tab.Add("RSS idle / under load (peak)", loadgen.MB(idle.RSS)+" / "+loadgen.MB(load.HWM),
		fmt.Sprintf("VmRSS after start (anon %s, file %s: the binary's pages), VmHWM after the rows", loadgen.MB(idle.Anon), loadgen.MB(idle.File)))
	bareStart := median(version)
	tab.Add("start to ready, no adapter", startFigure(append(bare, p.ready)), fmt.Sprintf("exec of serve to /readyz 200: %.1f× this machine's bare start (below)", share(median(append(bare, p.ready)), bareStart)))
	// Serve can exec the adapter only once its own runtime and package init
	// are done, so two bare starts come one after the other; what is left
	// is the sidecar's own: configuration, certificates, the handshake,
	// Describe.
	tab.Add("start to ready, generic adapter", startFigure(adapted), fmt.Sprintf("the same with the built-in generic adapter: /readyz waits for its process too; %.1f× the bare start, %s beyond two bare starts (serve's, then the adapter's)",
		share(median(adapted), bareStart), loadgen.Ms(median(adapted)-2*bareStart)))
	if withBase {
		tab.Add("base: start to ready, no adapter", startFigure(baseBare), baseRow(base, "each start after this build's", median(append(bare, p.ready)), median(baseBare)))
		tab.Add("base: start to ready, generic adapter", startFigure(baseAdapted), baseRow(base, "each start after this build's", median(adapted), median(baseAdapted)))
	}
	tab.Add("this machine: bare start", startFigure(version), "exec of the same binary's version command to its exit: the runtime and package init every process of it pays")
	plug := pluginRoundTrip(t, calls*4)
	tab.Add("plugin round trip", fmt.Sprintf("p50 %s, p99 %s", loadgen.Ms(plug.r.Percentile(50)), loadgen.Ms(plug.r.Percentile(99))), "Describe, host → built-in generic adapter process → host (gRPC, mTLS)")
	tab.Add("plugin process RSS", loadgen.MB(plug.rss), "the generic adapter, idle after the calls")
	tab.Add("plugin start to ready", loadgen.Ms(plug.ready), "exec of the adapter to its handshake done")
	for _, r := range signingRows(t) {
		tab.Add(r[0], r[1], r[2])
	}
	var b strings.Builder
	tab.Print(&b)
	if full {
		fmt.Print(b.String())
	} else {
		t.Log(b.String())
	}
}

// share is part/whole, 0 when whole is.
// spread is the lowest and highest of v.
func spread(v []float64) string {
	if len(v) == 0 {
		return "none measurable"
	}
	return fmt.Sprintf("%.2f–%.2f", slices.Min(v), slices.Max(v))
}

// leftOf is the share of cores × elapsed that others' CPU time left.
func leftOf(others time.Duration, cores int, elapsed time.Duration) float64 {
	return max(0, 1-others.Seconds()/(time.Duration(cores)*elapsed).Seconds())
}

func share(part, whole time.Duration) float64 {
	if whole <= 0 {
		return 0
	}
	return part.Seconds() / whole.Seconds()
}

// median is the middle of d (the upper one of an even count).
func median(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

// timeVersion times one exec of the binary's version command to its exit.
func timeVersion(t *testing.T) time.Duration {
	t.Helper()
	t0 := time.Now()
	if out, err := exec.Command(binPath, "version").CombinedOutput(); err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	return time.Since(t0)
}

// startFigure is the median of the start-up samples and their range.
func startFigure(d []time.Duration) string {
	d = slices.Clone(d)
	slices.Sort(d)
	if len(d) == 1 {
		return loadgen.Ms(d[0])
	}
	return fmt.Sprintf("p50 %s (%s–%s, %d starts)", loadgen.Ms(median(d)), loadgen.Ms(d[0]), loadgen.Ms(d[len(d)-1]), len(d))
}

// served is a serve process started by startTimed.
type served struct {
	pid   int
	ready time.Duration // exec to the first 200 from /readyz
	stop  func(t *testing.T)
}

// The lines serve writes last on its way up, one per case: the private
// listener's address (stdout, after both listeners) and the adapter's
// process being ready (stderr).
const (
	lastListener = "private listener: http://"
	adapterUp    = `"msg":"adapter ready"`
)

// startTimed runs bin's serve and times exec to the first 200 from
// readyURL.
// Probing starts once serve has written last, a line it writes on its way
// up: on this VM each probe costs serve about 0.3 ms of CPU (a Go HTTP
// server's round trip, woken from idle), so probing every millisecond from
// exec took more than one of the two cores and slowed the very start it
// timed; a probe every second, as Kubernetes sends, has nothing to slow.
// After the line it probes every millisecond: /readyz still decides. The
// process is stopped when the test ends, or by stop.
func startTimed(t *testing.T, bin string, env envMap, readyURL, last string) served {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	log := &lineWatch{want: last, seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = log, log
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop := func(t *testing.T) {
		once.Do(func() {
			// SIGTERM, as Kubernetes stops it: serve stops its adapter too.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(waitTimeout):
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("serve did not stop on SIGTERM:\n%s", log)
			}
		})
	}
	t.Cleanup(func() { stop(t) })
	deadline := time.After(60 * time.Second)
	select {
	case <-log.seen:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, log)
	case <-deadline:
		t.Fatalf("serve never wrote %q:\n%s", last, log)
	}
	hc := &http.Client{Timeout: time.Second}
	for end := t0.Add(60 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, log)
		default:
		}
		resp, err := hc.Get(readyURL)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return served{pid: cmd.Process.Pid, ready: time.Since(t0), stop: stop}
		}
	}
	t.Fatalf("serve not ready:\n%s", log)
	return served{}
}

// lineWatch collects serve's output and closes seen once it holds want.
type lineWatch struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.want != "" && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.want = ""
	}
	return len(p), nil
}

func (w *lineWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// fetchProfile writes serve's CPU profile over the next d to path.
func fetchProfile(privAddr, path string, d time.Duration) error {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", privAddr, int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func readProc(t *testing.T, pid int) loadgen.Proc {
	t.Helper()
	p, err := loadgen.ReadProc(pid)
	if err != nil {
		t.Skipf("the bench reads /proc: %v", err)
	}
	return p
}

// redisInfo reads redis-server's CPU time and answers written, in one
// INFO (loadgen.RedisInfo).
func redisInfo(t *testing.T, rdb *redis.Client) loadgen.RedisInfo {
	t.Helper()
	info, err := rdb.Info(t.Context(), "cpu", "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	r, err := loadgen.ParseRedisInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func merchantKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	kb, err := os.ReadFile(filepath.Join(keyDir, privateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	k, err := trustly.ParsePrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pendingBody is a pending notification for Trustly order tid, signed with
// the simulator's key as Trustly would.
func pendingBody(t *testing.T, tid, mid, nid string) []byte {
	t.Helper()
	data := map[string]any{"orderid": tid, "messageid": mid, "notificationid": nid, "amount": "103.00", "currency": "SEK",
		"enduserid": "shopper-1", "timestamp": "2026-12-01 09:00:00.000000+00"}
	uuid := trustly.NewUUID()
	sig, err := trustly.Sign(simKey(), "pending", uuid, data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"method": "pending", "version": "1.1",
		"params": map[string]any{"signature": sig, "uuid": uuid, "data": data}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type bound struct {
	ops  int64         // how many were measured
	wall time.Duration // how long they took, on every core at once
	cpu  time.Duration // the CPU time they took
}

// rate is notifications per second on every core.
func (b bound) rate() float64 {
	if b.wall <= 0 {
		return 0
	}
	return float64(b.ops) / b.wall.Seconds()
}

// plus is b and c measured as one.
func (b bound) plus(c bound) bound {
	return bound{ops: b.ops + c.ops, wall: b.wall + c.wall, cpu: b.cpu + c.cpu}
}

// cryptoBound is how many notifications per second the crypto alone allows
// on every core: parse and verify one (Trustly's key), sign its reply (the
// merchant's), nothing else, with as many goroutines as cores; and the CPU
// time that took (this process is otherwise idle meanwhile).
func cryptoBound(t *testing.T, body []byte, trustlyKey *rsa.PublicKey, mk *rsa.PrivateKey, n int) bound {
	t.Helper()
	v := trustly.NewVerifierKey(trustly.Sim, trustlyKey)
	before := readProc(t, os.Getpid())
	r := loadgen.Run(t.Context(), runtime.NumCPU(), n, func(context.Context, int) error {
		nt, err := trustly.ParseNotification(body, v)
		if err != nil {
			return err
		}
		_, err = trustly.NewReply(mk, nt, trustly.ReplyOK)
		return err
	})
	if r.Errors > 0 {
		t.Fatalf("crypto bound: %v", r.FirstErr)
	}
	return bound{ops: int64(r.N), wall: r.Elapsed, cpu: readProc(t, os.Getpid()).CPU - before.CPU}
}

type pluginBench struct {
	r     loadgen.Result
	rss   int64
	ready time.Duration
}

// pluginRoundTrip starts the built-in generic adapter from the built
// binary, as serve does, and times n Describe calls one after another.
func pluginRoundTrip(t *testing.T, n int) pluginBench {
	t.Helper()
	h := pluginhost.New(pluginhost.Source{Name: generic.Name, Path: binPath, Args: []string{pluginhost.BuiltinCommand, generic.Name},
		Env: []string{generic.EnvCallbackURL + "=http://127.0.0.1:9/", generic.EnvCallbackSecret + "=" + string(callbackSecret),
			generic.EnvWebhookSecret + "=whsec_0123456789abcdef"}}, pluginhost.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := h.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	ready := time.Since(t0)
	a := h.Adapter()
	r := loadgen.Run(ctx, 1, n, func(ctx context.Context, _ int) error {
		_, err := a.Describe(ctx)
		return err
	})
	if r.Errors > 0 {
		t.Fatalf("plugin: %d of %d calls failed: %v", r.Errors, r.N, r.FirstErr)
	}
	return pluginBench{r: r, rss: readProc(t, h.Pid()).RSS, ready: ready}
}

// The bench counts serve's Redis round trips from redis-server's own
// counter (loadgen.RedisInfo), with nothing in serve's path. This checks
// that count against a proxy that sees every round trip on the wire
// (loadgen.Proxy), for a workload with each shape serve uses: single
// commands, a pipeline, MULTI/EXEC, a script, a blocking read that times
// out, and new connections (their handshake) closed again.
func TestRedisRoundTripsCountedByRedisAgreeWithAProxy(t *testing.T) {
	red := startPrivateRedis(t)
	ctx := t.Context()
	proxy, err := loadgen.NewProxy(red.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	script := redis.NewScript(`redis.call("SET", KEYS[1], ARGV[1]); return redis.call("INCR", KEYS[2])`)
	work := func(rdb *redis.Client) error {
		if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
			return err
		}
		if err := rdb.Get(ctx, "k").Err(); err != nil {
			return err
		}
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range 5 {
				p.HSet(ctx, "h", fmt.Sprint(i), i)
			}
			p.HGetAll(ctx, "h")
			return nil
		}); err != nil {
			return err
		}
		if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "n")
			p.Expire(ctx, "n", time.Hour)
			return nil
		}); err != nil {
			return err
		}
		for range 2 { // EVALSHA, NOSCRIPT then EVAL, then EVALSHA
			if err := script.Run(ctx, rdb, []string{"s", "n"}, "x").Err(); err != nil {
				return err
			}
		}
		if err := rdb.XGroupCreateMkStream(ctx, "stream", "g", "0").Err(); err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return err
		}
		err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"stream", ">"}, Block: 20 * time.Millisecond}).Err()
		if err != nil && err != redis.Nil {
			return err
		}
		return nil
	}
	before := redisInfo(t, red.rdb)
	proxied := proxy.RoundTrips()
	for range 3 { // a new client each time: dial, handshake, close
		rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), PoolSize: 1})
		err := work(rdb)
		rdb.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The proxy counts a round trip when the request passes; wait until
	// the last answer has passed it too.
	time.Sleep(50 * time.Millisecond)
	byProxy, byRedis := proxy.RoundTrips()-proxied, redisInfo(t, red.rdb).TripsSince(before)
	if byRedis != byProxy || byProxy < 3*8 {
		t.Fatalf("round trips: redis-server counted %d, the proxy %d (want equal, and at least %d)", byRedis, byProxy, 3*8)
	}
	t.Logf("round trips: %d by redis-server, %d by the proxy", byRedis, byProxy)
}

// clientAloneApart runs n Deposits with the project's client, one after
// another, in a child process (this test binary, TestBenchClientAlone)
// against the simulator at url, and returns their latencies.
func clientAloneApart(t *testing.T, url, simKeyFile, notificationURL string, n int) loadgen.Result {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBenchClientAlone$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "TRUSTLY_BENCH_CLIENT_ALONE="+strings.Join([]string{url, simKeyFile, notificationURL, strconv.Itoa(n),
		filepath.Join(keyDir, privateKeyFile)}, "\n"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client alone: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "client-alone "); ok {
			r := loadgen.Result{Concurrency: 1}
			for _, f := range strings.Fields(v) {
				d, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					t.Fatalf("client alone: %q in %q", f, line)
				}
				r.Latencies = append(r.Latencies, time.Duration(d))
			}
			if r.N = len(r.Latencies); r.N == n {
				slices.Sort(r.Latencies)
				return r
			}
		}
	}
	t.Fatalf("client alone: no figures for %d Deposits in\n%s", n, out)
	return loadgen.Result{}
}

// TestBenchClientAlone is clientAloneApart's child: it only runs when the
// bench starts it.
func TestBenchClientAlone(t *testing.T) {
	spec := os.Getenv("TRUSTLY_BENCH_CLIENT_ALONE")
	if spec == "" {
		t.Skip("run by TestBenchTable in a process of its own")
	}
	f := strings.Split(spec, "\n")
	if len(f) != 5 {
		t.Fatalf("TRUSTLY_BENCH_CLIENT_ALONE = %q", spec)
	}
	// The parent's merchant key: this process's TestMain made keys of its own.
	mb, err := os.ReadFile(f[4])
	if err != nil {
		t.Fatal(err)
	}
	mk, err := trustly.ParsePrivateKey(mb)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(f[3])
	if err != nil {
		t.Fatal(err)
	}
	kb, err := os.ReadFile(f[1])
	if err != nil {
		t.Fatal(err)
	}
	simPub, err := trustly.ParsePublicKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	client, err := trustly.NewClient(trustly.ClientConfig{Environment: trustly.Sim, URL: f[0],
		Credentials: trustly.Credentials{Username: "merchant", Password: testPassword}, PrivateKey: mk, TrustlyPublicKey: simPub})
	if err != nil {
		t.Fatal(err)
	}
	// One call first, not counted: the sidecar and the client in the
	// simulator's process have their connections open already.
	if _, err := client.Deposit(t.Context(), benchDeposit(f[2])); err != nil {
		t.Fatal(err)
	}
	r := loadgen.Run(t.Context(), 1, n, func(ctx context.Context, i int) error {
		_, err := client.Deposit(ctx, benchDeposit(f[2]))
		return err
	})
	if r.Errors > 0 {
		t.Fatalf("%d of %d Deposits failed: %v", r.Errors, r.N, r.FirstErr)
	}
	figures := make([]string, len(r.Latencies))
	for i, d := range r.Latencies {
		figures[i] = strconv.FormatInt(int64(d), 10)
	}
	fmt.Printf("client-alone %s\n", strings.Join(figures, " "))
}

// benchDeposit is the Deposit the client alone makes: what the sidecar
// sends for the bench's payment.
func benchDeposit(notificationURL string) *trustly.DepositRequest {
	return &trustly.DepositRequest{NotificationURL: notificationURL,
		EndUserID: "shopper-1", MessageID: trustly.NewUUID(), Currency: "SEK", Amount: 10300, Country: "SE", Locale: "sv_SE",
		Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", SuccessURL: "https://shop.example/ok",
		FailURL: "https://shop.example/fail", ShopperStatement: "Example shop"}
}

// pingsAfterIdle times n PINGs, each sent after a millisecond of sleep, from
// the send; with beside, each while a new goroutine runs beside (and is
// waited for).
func pingsAfterIdle(t *testing.T, rdb *redis.Client, n int, beside func() error) loadgen.Result {
	t.Helper()
	var r loadgen.Result
	for range n {
		time.Sleep(time.Millisecond)
		done := make(chan error, 1)
		if beside != nil {
			go func() { done <- beside() }()
		} else {
			done <- nil
		}
		t0 := time.Now()
		if err := rdb.Ping(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		r.Latencies = append(r.Latencies, time.Since(t0))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	r.N = len(r.Latencies)
	slices.Sort(r.Latencies)
	return r
}
