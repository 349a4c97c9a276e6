package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The floor is the bench's two measured routes made of only what no
// implementation on this stack can leave out, with nothing else: no
// middleware, logs, metrics, request ids, validation, state machine, outbox.
//
//   - POST /trustly/notifications/...: net/http reads the body;
//     core/trustly parses and verifies it and signs the reply; one Redis
//     script keeps the reply under the notification id (the dedupe record
//     a repeat is answered from, written before the answer); the reply
//     goes back. serve's CPU per notification over the floor's is what
//     the sidecar's own work costs, and the floor's crypto share is about
//     the highest route ratio this machine, net/http and go-redis allow.
//   - POST /v1/payments: the three round trips a payment cannot do
//     without, one after another: the idempotency key claimed, the order
//     stored with its MessageID before Trustly may see it, and the answer
//     stored with the key; the Deposit is signed beside the first two
//     (trustly.SendAfter), as serve does, and sent once the order is
//     stored. Its added latency over the client alone is what the hop and
//     those round trips cost on this machine.

// floorEnv, when set, makes the test binary the floor server instead of a
// test run (TestMain): a process of its own, as serve is, so that the two
// are measured alike. Its value is a floorSpec in JSON.
const floorEnv = "TRUSTLY_BENCH_FLOOR"

type floorSpec struct {
	Addr, Redis, MerchantKeyFile, TrustlyKeyFile, TrustlyURL, NotificationURL string
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
	// Read as the notify command reads its keys: the private key that
	// signs, the public key that checks what the other side signs.
	mk, pub, err := notifyKeys(c.MerchantKeyFile, c.TrustlyKeyFile)
	if err != nil {
		return err
	}
	v := trustly.NewVerifierKey(trustly.Sim, pub)
	client, err := trustly.NewClient(trustly.ClientConfig{Environment: trustly.Sim, URL: c.TrustlyURL,
		Credentials: trustly.Credentials{Username: "merchant", Password: testPassword}, PrivateKey: mk, TrustlyPublicKey: pub})
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: c.Redis})
	defer rdb.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {}) // for startFloor
	mux.Handle("POST /v1/payments", floorPayment(rdb, client, c.NotificationURL))
	mux.HandleFunc("POST /trustly/notifications/", func(w http.ResponseWriter, r *http.Request) {
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
	srv := &http.Server{Addr: c.Addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	return srv.ListenAndServe()
}

// floorPayment is the floor's POST /v1/payments.
func floorPayment(rdb *redis.Client, client *trustly.Client, notificationURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 64<<10)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := "floor:idempotency:" + r.Header.Get("Idempotency-Key")
		req := benchDeposit(notificationURL)
		order := "floor:order:" + req.MessageID
		gate := make(chan error, 1)
		type answer struct {
			res *trustly.DepositResult
			err error
		}
		done := make(chan answer, 1)
		go func() {
			res, err := client.Deposit(trustly.SendAfter(r.Context(), func() error { return <-gate }), req)
			done <- answer{res, err}
		}()
		ok, err := rdb.SetNX(r.Context(), key, "in flight", 24*time.Hour).Result()
		if err == nil && !ok {
			err = errors.New("idempotency key in use")
		}
		if err != nil {
			gate <- err
			<-done
			http.Error(w, "claim: "+err.Error(), http.StatusConflict)
			return
		}
		_, err = rdb.Pipelined(r.Context(), func(p redis.Pipeliner) error {
			p.HSet(r.Context(), order, "state", "created", "amount", req.Amount, "currency", req.Currency)
			p.Set(r.Context(), "floor:messageid:"+req.MessageID, order, 0)
			return nil
		})
		gate <- err
		a := <-done
		if err != nil || a.err != nil {
			http.Error(w, fmt.Sprintf("store %v, Deposit %v", err, a.err), http.StatusServiceUnavailable)
			return
		}
		body, err := json.Marshal(map[string]string{"id": req.MessageID, "trustlyOrderId": a.res.OrderID, "messageId": req.MessageID, "url": a.res.URL})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if _, err := rdb.Pipelined(r.Context(), func(p redis.Pipeliner) error {
			p.HSet(r.Context(), order, "state", "started", "orderid", a.res.OrderID, "url", a.res.URL)
			p.Set(r.Context(), key, body, 24*time.Hour)
			return nil
		}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	})
}

// startFloor starts the floor server on a redis-server of its own and
// returns its pid and address once it accepts connections.
func startFloor(t *testing.T, trustlyURL, trustlyKeyFile, notificationURL string) (pid int, addr string) {
	t.Helper()
	addr = freeAddr(t)
	spec, err := json.Marshal(floorSpec{Addr: addr, Redis: startPrivateRedis(t).addr, MerchantKeyFile: filepath.Join(keyDir, privateKeyFile),
		TrustlyKeyFile: trustlyKeyFile, TrustlyURL: trustlyURL, NotificationURL: notificationURL})
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
	waitHealthy(t, "http://"+addr+"/healthz")
	return cmd.Process.Pid, addr
}
