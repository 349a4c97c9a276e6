package faultsuite

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
)

// EnvFull selects the full run (`make reliability`); without it the short
// run, part of `make test`, takes about a minute.
const EnvFull = "TRUSTLY_RELIABILITY_FULL"

// plan is how hard a run pushes: sizes and outage lengths, never
// expectations (the audit's must-be-zero figures are the same for both).
type plan struct {
	name         string
	orders       int           // payments approved during the run
	redisDown    time.Duration // Redis killed, then started again (AOF keeps its data)
	redisFrozen  time.Duration // Redis SIGSTOPped: connections open, no answers
	callbackDown time.Duration // the callback server answers 503
	calm         time.Duration // traffic without a fault, after each fault
	slow         int           // slow connections held open to each sidecar
	// settle bounds the wait, after the faults, for every order to reach
	// its end everywhere: a fail-safe, the audit judges what is left.
	settle time.Duration
}

var (
	shortPlan = plan{name: "short", orders: 30, redisDown: 3 * time.Second, redisFrozen: 3 * time.Second,
		callbackDown: 5 * time.Second, calm: 2 * time.Second, slow: 3, settle: 3 * time.Minute}
	fullPlan = plan{name: "full", orders: 300, redisDown: 10 * time.Second, redisFrozen: 10 * time.Second,
		callbackDown: 60 * time.Second, calm: 5 * time.Second, slow: 20, settle: 15 * time.Minute}
)

// scenarios is the mix of what the simulated shoppers and banks do, with
// the status each ends at: plain payments, a credit then a debit, the
// credit before the pending (out of order), replies lost so Trustly
// resends, and declines.
var scenarios = []struct {
	name   string // sim scenario; "decline" declines instead of approving
	want   string // the platform status (and Redis state) it ends at
	notifs int    // the notifications its script sends
}{
	{sim.DefaultScenario, "paid", 2},
	{"D1", "reversed", 3},
	{"D5", "paid", 2},
	{"G3", "paid", 2},
	{"decline", "cancelled", 1},
	{sim.DefaultScenario, "paid", 2},
}

// redisPrefix is the sidecars' key prefix; the Redis is the suite's own.
const redisPrefix = "fault"

// TestReliability is issue #15's fault suite; see the package comment and
// the README's "Fault suite".
func TestReliability(t *testing.T) {
	if binPath == "" {
		t.Skip("go tool not found, binary not built")
	}
	if testing.Short() {
		t.Skip("the fault suite runs real processes for about a minute")
	}
	p := shortPlan
	if os.Getenv(EnvFull) != "" {
		p = fullPlan
	}
	began := time.Now()

	// Redis as production runs it: every write on disk before it is
	// acknowledged, so a kill of Redis loses nothing (core/store/LAYOUT.md).
	rds := redistest.NewServerArgs(t, "--appendonly", "yes", "--appendfsync", "always")
	rdb := redis.NewClient(&redis.Options{Addr: rds.Addr()})
	t.Cleanup(func() { rdb.Close() })

	shop := fakeshop.New(t, callbackSecret)
	callbacks := newCallbackRecorder(t, shop.URL)
	s := startSim(t)

	addrs := freeAddrs(t, 4)
	pubs, privs := addrs[:2], addrs[2:]
	lb := newBalancer(t, pubs...)
	env := map[string]string{
		"TRUSTLY_SIDECAR_ENVIRONMENT":               "SIM",
		"TRUSTLY_SIDECAR_TRUSTLY_URL":               s.APIURL(),
		"TRUSTLY_SIDECAR_TRUSTLY_PUBLIC_KEY_FILE":   writeFile(t, "sim.pem", s.PublicKeyPEM()),
		"TRUSTLY_SIDECAR_TRUSTLY_USERNAME":          "merchant",
		"TRUSTLY_SIDECAR_TRUSTLY_PASSWORD":          trustlyPassword,
		"TRUSTLY_SIDECAR_MERCHANT_PRIVATE_KEY_FILE": filepath.Join(keyDir, "merchant_private.pem"),
		"TRUSTLY_SIDECAR_NOTIFICATION_SECRET":       notificationSecret,
		"TRUSTLY_SIDECAR_PUBLIC_BASE_URL":           lb.URL,
		"TRUSTLY_SIDECAR_REDIS_MODE":                "single",
		"TRUSTLY_SIDECAR_REDIS_ADDRS":               rds.Addr(),
		"TRUSTLY_SIDECAR_REDIS_PREFIX":              redisPrefix,
		"TRUSTLY_SIDECAR_LOG_FORMAT":                "text",
		"TRUSTLY_SIDECAR_ADAPTER":                   "generic",
		"TRUSTLY_SIDECAR_ADAPTER_ENV":               generic.EnvCallbackURL + "," + generic.EnvCallbackSecret + "," + generic.EnvWebhookSecret,
		generic.EnvCallbackURL:                      callbacks.URL + "/trustly/callback",
		generic.EnvCallbackSecret:                   string(callbackSecret),
		generic.EnvWebhookSecret:                    webhookSecret,
	}
	a := startSidecar(t, "a", env, pubs[0], privs[0])
	b := startSidecar(t, "b", env, pubs[1], privs[1])

	// The shop creates every payment first, half through each sidecar; the
	// shoppers then approve them one by one while the faults happen.
	orders := make([]*order, p.orders)
	for i := range orders {
		orders[i] = createPayment(t, []*sidecar{a, b}[i%2], i)
	}

	var faults []string
	fault := func(what string, do func()) {
		t.Logf("fault: %s", what)
		do()
		faults = append(faults, what)
		time.Sleep(p.calm)
	}
	faultTime := 5*p.calm + p.redisDown + p.redisFrozen + p.callbackDown
	stop := make(chan struct{})
	stopTraffic := sync.OnceFunc(func() { close(stop) })
	t.Cleanup(stopTraffic) // also when a fault step fails the test
	var traffic sync.WaitGroup
	traffic.Go(func() { approve(t, s, orders, faultTime) })
	traffic.Go(func() { replay(t, s, stop) })
	cut := 0
	traffic.Go(func() { cut = slowClients(pubs, p.slow, stop) })

	fault("kill -9 of sidecar a right after it applied a notification, before Trustly heard its OK; then a restart", func() {
		select {
		case <-lb.crashAfterOK(a.pub, a.kill):
		case <-time.After(time.Minute): // a fail-safe: notifications flow all the time
			t.Fatal("no notification reached sidecar a to crash it after")
		}
		a.start()
	})
	fault("the plugin of sidecar b killed (SIGKILL)", func() {
		pid := b.adapterPid()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill the plugin %d: %v", pid, err)
		}
		waitFor(t, "sidecar b restarts its plugin", time.Minute, func() bool { return b.adapterPid() != pid })
	})
	fault(fmt.Sprintf("Redis stopped for %s", p.redisDown), func() {
		rds.Stop()
		time.Sleep(p.redisDown)
		rds.Start()
	})
	fault(fmt.Sprintf("Redis frozen (SIGSTOP) for %s", p.redisFrozen), func() {
		rds.Freeze()
		time.Sleep(p.redisFrozen)
		rds.Thaw()
	})
	fault(fmt.Sprintf("the callback answering 503 for %s", p.callbackDown), func() {
		shop.SetMode(adaptertest.Unavailable)
		time.Sleep(p.callbackDown)
		shop.SetMode(adaptertest.Healthy)
	})
	stopTraffic()
	traffic.Wait()
	faults = append(faults, fmt.Sprintf("%d slow connections held to each sidecar throughout (%d cut by the sidecars)", p.slow, cut))

	// Settle: Trustly resends until answered and the outbox retries until
	// the shop has it, so everything must arrive; the bound is a fail-safe.
	settled := time.Now()
	deadline := time.Now().Add(p.settle)
	var h History
	for {
		h = gather(t, s, rdb, shop, callbacks, orders)
		if _, problems := Audit(h); (len(problems) == 0 && simIdle(s)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}

	f, problems := Audit(h)
	// What the on-call engineer sees must agree: both sidecars ready again
	// without a restart, the outbox drained, nothing dead-lettered, no
	// data loss detected, and the plugin's restart counted.
	for _, sc := range []*sidecar{a, b} {
		want := []string{"trustly_sidecar_outbox_depth 0", "trustly_sidecar_outbox_dead_letters 0", "trustly_sidecar_redis_data_lost 0"}
		waitFor(t, "sidecar "+sc.name+" ready, its metrics showing "+strings.Join(want, ", "), time.Minute, func() bool {
			m := get("http://" + sc.priv + "/metrics")
			for _, line := range want {
				if !strings.Contains(m, line+"\n") {
					return false
				}
			}
			// At least once: a plugin starved of CPU on a busy machine
			// may be restarted again, which is the supervisor's job.
			if sc == b && !pluginRestartedRe.MatchString(m) {
				return false
			}
			return answers200("http://" + sc.priv + "/readyz")
		})
	}
	// Each notification is one status; those the shop never heard came
	// after a newer status of their order and changed nothing.
	heard, d5 := 0, 0
	for i, o := range h.Orders {
		for _, st := range o.Shop {
			if st != attention {
				heard++
			}
		}
		if orders[i].scenario == "D5" {
			d5++
		}
	}
	faults = append(faults, fmt.Sprintf("%d notifications arrived after a newer status of their order and told the shop nothing (%d D5 orders send their pending after the credit by script; the rest were overtaken during the faults)",
		f.Sent-heard, d5))
	faults = append(faults, "the sidecars answered on the notification route (slow clients included): "+answerCounts(a.log()+b.log()))
	scripted := 0
	for _, o := range orders {
		scripted += o.notifs
	}
	if f.Sent != scripted {
		problems = append(problems, fmt.Sprintf("the simulator sent %d notifications, its scripts %d", f.Sent, scripted))
	}
	t.Logf("fault suite (%s run, %d orders), faults:\n  %s\n\n%s\nfaults %s, settling %s, in all %s",
		p.name, p.orders, strings.Join(faults, "\n  "), f.Table(),
		settled.Sub(began).Round(time.Second), time.Since(settled).Round(time.Second), time.Since(began).Round(time.Second))
	for _, pr := range problems {
		t.Error(pr)
	}
	if f.Applied != f.Sent || f.Lost != 0 || f.DoubleApplied != 0 || f.OutOfOrder != 0 || f.FinalMissing != 0 {
		for _, sc := range []*sidecar{a, b} {
			t.Logf("the end of sidecar %s's log:\n%s", sc.name, lastLines(sc.log(), 40))
		}
		t.Error("the audit failed")
	}
	// A run that exercised nothing proves nothing.
	if f.DuplicatesAbsorbed == 0 || f.Retries == 0 || f.CallbackResends == 0 {
		t.Errorf("the run absorbed %d duplicates, made %d retries and %d callback resends: the faults did not bite",
			f.DuplicatesAbsorbed, f.Retries, f.CallbackResends)
	}
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startSim runs the simulator on the wall clock (its notifications go out
// on their own, as Trustly's do) with a retry schedule of seconds instead
// of Trustly's minutes to hours, so a run sees many resends.
func startSim(t *testing.T) *sim.Server {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(keyDir, "merchant_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := trustly.ParsePublicKey(pem)
	if err != nil {
		t.Fatalf("merchant key: %v", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Config{Key: key, Username: "merchant", Password: trustlyPassword, MerchantPublicKey: mk,
		Relaxed: true, SettlementDelay: -1, Balances: map[string]int64{"SEK": 1_000_000_000},
		RetrySchedule: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

var notificationAnswerRe = regexp.MustCompile(`msg="http request" listener=public method=POST route=/trustly/notifications/\{secret\} status=(\d+)`)

// answerCounts counts the sidecars' answers to notifications by HTTP status,
// from their request logs (both runs of the one killed included).
func answerCounts(logs string) string {
	counts := map[string]int{}
	for _, m := range notificationAnswerRe.FindAllStringSubmatch(logs, -1) {
		counts[m[1]]++
	}
	var out []string
	for _, code := range slices.Sorted(maps.Keys(counts)) {
		out = append(out, fmt.Sprintf("%d × %s", counts[code], code))
	}
	return strings.Join(out, ", ")
}

var pluginRestartedRe = regexp.MustCompile(`(?m)^trustly_sidecar_plugin_restarts_total\{plugin="generic"\} [1-9]`)

// get is the body of a GET, "" on any failure.
func get(url string) string {
	resp, err := httpClient.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// simIdle reports whether the simulator has no scripted notification and
// no delivery left to make (an unused checkout's expiry does not count).
func simIdle(s *sim.Server) bool {
	for _, task := range s.Scheduled() {
		if strings.HasPrefix(task.Name, "scenario ") || strings.Contains(task.Name, " delivery of ") {
			return false
		}
	}
	return true
}

// order is one payment of the run.
type order struct {
	ref, id, tid string
	scenario     string
	want         string
	notifs       int
}

const paymentBody = `{"amount":%d,"currency":"SEK","shopper":{"endUserId":"shopper-%d","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","country":"SE","locale":"sv_SE"},"successUrl":"https://shop.example/ok","failUrl":"https://shop.example/fail","shopperStatement":"Example shop","externalReference":"%s"}`

func createPayment(t *testing.T, sc *sidecar, i int) *order {
	t.Helper()
	ref := fmt.Sprintf("F-%04d", i)
	body := fmt.Sprintf(paymentBody, 10000+i, i, ref)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+sc.priv+"/v1/payments", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "pay-"+ref)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("create %s: %v", ref, err)
	}
	defer resp.Body.Close()
	var o struct {
		ID             string `json:"id"`
		TrustlyOrderID string `json:"trustlyOrderId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil || resp.StatusCode != http.StatusCreated || o.TrustlyOrderID == "" {
		t.Fatalf("create %s: HTTP %d, %v", ref, resp.StatusCode, err)
	}
	sn := scenarios[i%len(scenarios)]
	return &order{ref: ref, id: o.ID, tid: o.TrustlyOrderID, scenario: sn.name, want: sn.want, notifs: sn.notifs}
}

// approve has the shoppers approve (or decline) the orders evenly over d.
func approve(t *testing.T, s *sim.Server, orders []*order, d time.Duration) {
	tick := time.NewTicker(d / time.Duration(len(orders)))
	defer tick.Stop()
	for _, o := range orders {
		var err error
		if o.scenario == "decline" {
			_, err = s.Decline(o.tid)
		} else {
			_, err = s.Approve(o.tid, o.scenario, 0)
		}
		if err != nil {
			t.Errorf("order %s: %s: %v", o.ref, o.scenario, err)
		}
		<-tick.C
	}
}

// replay delivers notifications again until stop, picked at random among
// those already sent: duplicates, and when the order has moved on since,
// out-of-order deliveries (a pending after the credit).
func replay(t *testing.T, s *sim.Server, stop <-chan struct{}) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var ids []string
		for _, o := range s.Orders() {
			for _, n := range s.Notifications(o.OrderID) {
				if n.Answered {
					ids = append(ids, n.NotificationID)
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		// Its outcome is in the simulator's record, which the audit reads.
		_, _ = s.Replay(ctx, ids[mrand.IntN(len(ids))])
		cancel()
	}
}

// newerSent reports whether a notification of n's order made after n had
// been delivered at least once before at.
func newerSent(notifs []sim.Notification, n sim.Notification, at time.Time) bool {
	for _, m := range notifs {
		if m.Created.After(n.Created) && len(m.Attempts) > 0 && m.Attempts[0].At.Before(at) {
			return true
		}
	}
	return false
}

// gather reads what the run left: the simulator's notifications, the
// orders' event logs and states and the dead letters in Redis, and what
// reached the callback server.
func gather(t *testing.T, s *sim.Server, rdb *redis.Client, shop *fakeshop.Shop, cbs *callbackRecorder, orders []*order) History {
	t.Helper()
	ctx := t.Context()
	h := History{Logged: map[string]int{}, Callbacks: cbs.callbacks()}
	for _, o := range orders {
		notifs := s.Notifications(o.tid)
		for _, n := range notifs {
			if n.Custom {
				continue
			}
			sent := Sent{ID: n.NotificationID, Order: n.OrderID, Method: n.Method, Deliveries: len(n.Attempts)}
			for _, a := range n.Attempts {
				if a.Trigger == "retry" {
					sent.Retries++
				}
				if newerSent(notifs, n, a.At) {
					sent.Late++
				}
				if a.Status != "" { // a reply that verified: the sidecar answered
					sent.Answered++
				}
			}
			h.Sent = append(h.Sent, sent)
		}
	}
	state := map[string]string{}
	iter := rdb.Scan(ctx, 0, redisPrefix+":*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		switch {
		case strings.HasPrefix(key, redisPrefix+":order:") && strings.HasSuffix(key, ":log"):
			entries, err := rdb.LRange(ctx, key, 0, -1).Result()
			if err != nil {
				t.Fatalf("read %s: %v", key, err)
			}
			for _, e := range entries {
				// time, event, notificationid, outcome, from, to, note; a
				// repeat is logged too (outcome duplicate), for the order's
				// timeline, but it applied nothing.
				if f := strings.Split(e, "\t"); len(f) > 3 && f[2] != "" && f[3] != "duplicate" {
					h.Logged[f[2]]++
				}
			}
		case strings.HasPrefix(key, redisPrefix+":order:") && !strings.HasSuffix(key, ":nd"):
			v, err := rdb.HMGet(ctx, key, "id", "state").Result()
			if err != nil {
				t.Fatalf("read %s: %v", key, err)
			}
			if id, ok := v[0].(string); ok {
				state[id], _ = v[1].(string)
			}
		case strings.HasPrefix(key, redisPrefix+":outbox:") && strings.HasSuffix(key, ":dead"):
			n, err := rdb.XLen(ctx, key).Result()
			if err != nil {
				t.Fatalf("read %s: %v", key, err)
			}
			h.DeadLettered += int(n)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan Redis: %v", err)
	}
	for _, o := range orders {
		var applied []string
		if snap := shop.Snapshot(o.ref); snap != "" {
			applied = strings.Split(snap, ",")
		}
		h.Orders = append(h.Orders, Order{Ref: o.ref, TrustlyID: o.tid, Want: o.want, Redis: state[o.id], Shop: applied})
	}
	return h
}
