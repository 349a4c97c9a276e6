package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The floor is the bench's notification route made of only what no route
// on this stack can leave out: net/http reads the body; core/trustly
// parses and verifies it and signs the reply; one Redis script keeps the
// reply under the notification id (the dedupe record a repeat is answered
// from, written before the answer); the reply goes back. No router, logs,
// metrics, request ids, orders or outbox. serve's CPU per notification
// over the floor's is what the sidecar's own work costs, and the floor's
// crypto share is about the highest route ratio this machine, net/http and
// go-redis allow any code.

// floorEnv, when set, makes the test binary the floor server instead of a
// test run (TestMain): a process of its own, as serve is, so that the two
// are measured alike. Its value is a floorSpec in JSON.
const floorEnv = "TRUSTLY_BENCH_FLOOR"

type floorSpec struct {
	Addr, Redis, MerchantKeyFile, TrustlyKeyFile string
}

// Kept for Trustly's 90 days of resends, as the sidecar keeps its own.
var floorScript = redis.NewScript(`if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', 7776000) then return ARGV[1] end
return redis.call('GET', KEYS[1])`)

// serveFloor runs the floor server until the process is killed.
func serveFloor(spec string) error {
	var c floorSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return fmt.Errorf("%s: %w", floorEnv, err)
	}
	kb, err := os.ReadFile(c.MerchantKeyFile)
	if err != nil {
		return err
	}
	mk, err := trustly.ParsePrivateKey(kb)
	if err != nil {
		return err
	}
	pb, err := os.ReadFile(c.TrustlyKeyFile)
	if err != nil {
		return err
	}
	pub, err := trustly.ParsePublicKey(pb)
	if err != nil {
		return err
	}
	v := trustly.NewVerifierKey(trustly.Sim, pub)
	rdb := redis.NewClient(&redis.Options{Addr: c.Redis})
	defer rdb.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := trustly.ParseNotification(body, v)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply, err := trustly.NewReply(mk, n, trustly.ReplyOK)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		stored, err := floorScript.Run(r.Context(), rdb, []string{"floor:notification:" + n.NotificationID}, reply).Text()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(stored)))
		_, _ = io.WriteString(w, stored)
	})
	srv := &http.Server{Addr: c.Addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	return srv.ListenAndServe()
}

// startFloor starts the floor server on a redis-server of its own and
// returns its pid and address once it accepts connections.
func startFloor(t *testing.T, trustlyKeyFile string) (pid int, addr string) {
	t.Helper()
	addr = freeAddr(t)
	spec, err := json.Marshal(floorSpec{Addr: addr, Redis: startPrivateRedis(t).addr,
		MerchantKeyFile: keyDir + "/" + privateKeyFile, TrustlyKeyFile: trustlyKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), floorEnv+"="+string(spec))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd.Process.Pid, addr
		}
	}
	t.Fatalf("floor server at %s not up in 10 s", addr)
	return 0, ""
}
