package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/internal/redistest"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The child process: an engine and its notification route, nothing else.
// The test binary re-executes itself with these variables set.
const (
	envChild    = "TRUSTLY_ENGINE_CHILD"
	envPrefix   = "TRUSTLY_ENGINE_CHILD_PREFIX"
	envKeys     = "TRUSTLY_ENGINE_CHILD_KEYS"
	childPrefix = "listening on "
)

func child() bool {
	if os.Getenv(envChild) == "" {
		return false
	}
	if err := runChild(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

func runChild() error {
	dir := os.Getenv(envKeys)
	mk, err := readKey(filepath.Join(dir, "merchant.der"))
	if err != nil {
		return err
	}
	tk, err := readKey(filepath.Join(dir, "trustly.der"))
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(redistest.EnvAddr), PoolSize: 64})
	defer rdb.Close()
	keys, err := store.NewKeys(os.Getenv(envPrefix))
	if err != nil {
		return err
	}
	eng, err := engine.New(engine.Config{Store: store.NewRedisOrders(rdb, keys, store.OrdersOptions{}),
		Verifier: trustly.NewVerifierKey(trustly.Sim, &tk.PublicKey), MerchantKey: mk})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reply, err := eng.HandleNotification(r.Context(), body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusServiceUnavailable)
			return
		}
		rw.Write(reply)
	}))
	fmt.Println(childPrefix + "http://" + ln.Addr().String())
	// Run until the parent closes stdin.
	io.Copy(io.Discard, os.Stdin)
	return nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return x509.ParsePKCS1PrivateKey(b)
}

func startChild(t *testing.T, addr, prefix, keyDir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1", envPrefix+"="+prefix, envKeys+"="+keyDir, redistest.EnvAddr+"="+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, childPrefix) {
		t.Fatalf("child said %q, %v", line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, childPrefix))
}

type sent struct {
	method, uuid string
	body         []byte
}

// TestTwoProcessesApplyEachNotificationOnce: two engine processes on one
// Redis get the same 1,000 notifications, shuffled, each delivered twice to
// each process, concurrently.
func TestTwoProcessesApplyEachNotificationOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	keys()
	addr, prefix, dir := redistest.Addr(t), redistest.Prefix(t), t.TempDir()
	for name, k := range map[string]*rsa.PrivateKey{"merchant.der": merchantKey, "trustly.der": simKey} {
		if err := os.WriteFile(filepath.Join(dir, name), x509.MarshalPKCS1PrivateKey(k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	k, _ := store.NewKeys(prefix)
	st := store.NewRedisOrders(rdb, k, store.OrdersOptions{})

	// 250 orders × 4 notifications, four mixes with known final states.
	mixes := []struct {
		methods []string
		want    engine.State
	}{
		{[]string{"account", "pending", "credit", "debit"}, engine.StateReversed},
		{[]string{"pending", "credit", "pending", "account"}, engine.StatePaid},
		{[]string{"pending", "cancel", "account", "pending"}, engine.StateCancelled},
		{[]string{"credit", "pending", "account", "credit"}, engine.StatePaid},
	}
	const orders = 250
	var all []sent
	for i := range orders {
		id := fmt.Sprintf("o%03d", i)
		if err := st.Create(ctx, store.Order{ID: id, Flow: "deposit", State: "new", Currency: "SEK", Amount: 10000,
			EndUserID: "u" + id, MessageID: "M" + id, Created: start}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Apply(ctx, store.Transition{OrderID: id, Event: "accepted",
			Targets: map[string]string{"new": "started"}, Set: store.OrderPatch{TrustlyOrderID: "T" + id}, Now: start}); err != nil {
			t.Fatal(err)
		}
		if err := st.IndexTrustlyOrderID(ctx, "T"+id, id); err != nil {
			t.Fatal(err)
		}
		for j, m := range mixes[i%len(mixes)].methods {
			all = append(all, signed(t, m, id, fmt.Sprintf("N%s-%d", id, j)))
		}
	}
	urls := []string{startChild(t, addr, prefix, dir), startChild(t, addr, prefix, dir)}
	type job struct {
		n   sent
		url string
	}
	var jobs []job
	for _, n := range all {
		for _, u := range urls {
			jobs = append(jobs, job{n, u}, job{n, u})
		}
	}
	rand.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	ch := make(chan job)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for range 32 {
		wg.Go(func() {
			for j := range ch {
				resp, err := client.Post(j.url, "application/json", bytes.NewReader(j.n.body))
				if err != nil {
					t.Error(err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d %s", j.n.method, resp.StatusCode, body)
					continue
				}
				if s, err := trustly.ParseReply(body, &merchantKey.PublicKey, j.n.method, j.n.uuid); err != nil || s != trustly.ReplyOK {
					t.Errorf("reply %s, %v", s, err)
				}
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()

	// Every order right; every notification once in its log; one outbox
	// entry per state change, seq 1..n, chained from→to.
	entries := map[string][]store.OutboxEntry{}
	for sh := range store.Shards {
		l, err := st.ListOutbox(ctx, sh, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l {
			entries[e.OrderID] = append(entries[e.OrderID], e)
		}
	}
	for i := range orders {
		id := fmt.Sprintf("o%03d", i)
		o, err := st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := mixes[i%len(mixes)].want; o.State != string(want) || o.Attention != "" {
			t.Errorf("%s: %s (attention %q), want %s", id, o.State, o.Attention, want)
		}
		log, _ := st.Log(ctx, id)
		seen := map[string]int{}
		for _, l := range log {
			// A repeat is in the log too (the order's timeline), as a
			// duplicate: counted apart, it is not an application.
			if f := strings.Split(l, "\t"); f[2] != "" && f[3] != "duplicate" {
				seen[f[2]]++
			}
		}
		if len(seen) != 4 {
			t.Errorf("%s: %d notifications applied, want 4: %q", id, len(seen), log)
		}
		for nid, c := range seen {
			if c != 1 {
				t.Errorf("%s: %s applied %d times", id, nid, c)
			}
		}
		es := entries[id]
		if int64(len(es)) != o.Seq {
			t.Errorf("%s: %d outbox entries for %d state changes", id, len(es), o.Seq)
			continue
		}
		prev := "new"
		for n, e := range es {
			if e.Seq != int64(n+1) || e.From != prev {
				t.Errorf("%s: entry %d = %+v after %s", id, n+1, e, prev)
			}
			prev = e.To
		}
		if prev != o.State {
			t.Errorf("%s: last entry leads to %s, order is %s", id, prev, o.State)
		}
	}
}

func signed(t testing.TB, method, id, nid string) sent {
	t.Helper()
	return signedFor(t, method, id, nid, "M"+id)
}

// signedFor is signed for the attempt with MessageID mid.
func signedFor(t testing.TB, method, id, nid, mid string) sent {
	t.Helper()
	return signedTo(t, method, "T"+id, nid, mid, "u"+id)
}

// signedTo is a notification of Trustly orderid tid for the attempt with
// MessageID mid, of shopper enduser.
func signedTo(t testing.TB, method, tid, nid, mid, enduser string) sent {
	t.Helper()
	id := strings.TrimPrefix(tid, "T")
	data := map[string]any{"orderid": tid, "messageid": mid, "notificationid": nid,
		"enduserid": enduser, "timestamp": "2025-03-03 09:00:00.000000+00"}
	switch method {
	case "pending", "credit", "debit":
		data["amount"], data["currency"] = "100.00", "SEK"
	case "account":
		data["accountid"], data["verified"] = "A"+id, "1"
		data["attributes"] = map[string]any{"clearinghouse": "SWEDEN", "bank": "Bank", "descriptor": "**** *123456", "lastdigits": "123456"}
	}
	uuid := trustly.NewUUID()
	sig, err := trustly.Sign(simKey, method, uuid, data)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"method": method, "version": "1.1",
		"params": map[string]any{"signature": sig, "uuid": uuid, "data": data}})
	if err != nil {
		t.Fatal(err)
	}
	return sent{method: method, uuid: uuid, body: body}
}
