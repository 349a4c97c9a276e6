package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// runningSim is 'trustly-sidecar sim' started through run().
type runningSim struct {
	url, apiURL, keyPath string
	banner               []string
	lines                chan string
	stderr               *logBuffer
	stop                 context.CancelFunc
	done                 chan error
}

// startSim runs the sim command until the test ends, and reads the banner
// it prints to learn its URLs.
func startSim(t *testing.T, args ...string) *runningSim {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	r := &runningSim{lines: make(chan string, 100), stderr: &logBuffer{}, stop: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, append([]string{"trustly-sidecar", "sim", "--addr", "127.0.0.1:0"}, args...), noEnv, strings.NewReader(""), pw, r.stderr)
		pw.Close()
		r.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	t.Cleanup(func() { r.shutdown(t) })
	for line := range r.lines {
		r.banner = append(r.banner, line)
		field := func(label string) string {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), label))
		}
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "URL:"):
			r.url = field("URL:")
		case strings.HasPrefix(strings.TrimSpace(line), "API URL:"):
			r.apiURL = field("API URL:")
		case strings.HasPrefix(strings.TrimSpace(line), "Trustly public key:"):
			r.keyPath, _, _ = strings.Cut(field("Trustly public key:"), " ")
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			return r
		}
	}
	t.Fatalf("sim stopped before printing its banner: %v\nstderr: %s", <-r.done, r.stderr.String())
	return nil
}

func (r *runningSim) shutdown(t *testing.T) {
	t.Helper()
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	for range r.lines {
	}
	if err := <-r.done; err != nil {
		t.Errorf("sim returned %v", err)
	}
}

func TestSimCommand(t *testing.T) {
	keysDir := t.TempDir()
	merchantPriv, err := trustly.ParsePrivateKey([]byte(readFileT(t, filepath.Join(keyDir, privateKeyFile))))
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, "--relaxed", "--merchant-public-key", filepath.Join(keyDir, publicKeyFile),
		"--keys-dir", keysDir, "--username", "shop", "--password", "pw")
	banner := strings.Join(s.banner, "\n")
	for _, want := range []string{"Username:             shop", "Password:             pw", "relaxed", s.url + "/api/1"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if s.keyPath != filepath.Join(keysDir, simPublicKeyFile) {
		t.Fatalf("key path %q", s.keyPath)
	}
	simKey, err := trustly.ParsePublicKey([]byte(readFileT(t, s.keyPath)))
	if err != nil {
		t.Fatal(err)
	}

	// A merchant that verifies notifications with the printed key.
	got := make(chan *trustly.Notification, 10)
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n, err := trustly.ParseNotification(body, trustly.NewVerifierKey(trustly.Sim, simKey))
		if err != nil {
			t.Errorf("notification: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		reply, _ := trustly.NewReply(merchantPriv, n, trustly.ReplyOK)
		w.Write(reply)
		got <- n
	}))
	defer merchant.Close()
	wait := func(method string) *trustly.Notification {
		t.Helper()
		select {
		case n := <-got:
			if n.Method != method {
				t.Fatalf("got %s, want %s", n.Method, method)
			}
			return n
		case <-time.After(20 * time.Second): // a deadline for a hang, not a timing assertion
			t.Fatalf("no %s notification", method)
			return nil
		}
	}

	client, err := trustly.NewClient(trustly.ClientConfig{
		Environment: trustly.Sim, URL: s.apiURL,
		Credentials: trustly.Credentials{Username: "shop", Password: "pw"},
		PrivateKey:  merchantPriv, TrustlyPublicKey: simKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := client.Deposit(context.Background(), &trustly.DepositRequest{
		NotificationURL: merchant.URL + "/n/secret", EndUserID: "u1", MessageID: "m1",
		Currency: "SEK", Amount: 100, Country: "SE", Locale: "sv_SE", Firstname: "Åsa", Lastname: "Öberg",
		Email: "a@example.se", SuccessURL: "https://shop.example/ok", FailURL: "https://shop.example/fail",
		ShopperStatement: "Shop",
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.url+"/sim/orders/"+dep.OrderID+"/approve", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pending := wait("pending") // the wall-clock runner delivers
	wait("credit")

	tool := func(args ...string) result {
		return runCLI(t, "", append([]string{"sim", "notifications"}, args...)...)
	}
	tests := []struct {
		name string
		args []string
		want expect
	}{
		{"list", []string{"list", "--url", s.url, dep.OrderID},
			expect{code: 0, stdout: []string{"NOTIFICATIONID", pending.NotificationID, "pending", "credit", "answered OK"}}},
		{"replay", []string{"replay", "--url", s.url, pending.NotificationID},
			expect{code: 0, stdout: []string{"delivered " + pending.NotificationID, "status OK"}}},
		{"send", []string{"send", "--url", s.url, "--method", "debit", "--set", "amount=0.50", dep.OrderID},
			expect{code: 0, stdout: []string{"delivered", "status OK"}}},
		{"send held", []string{"send", "--url", s.url, "--method", "credit", "--hold", dep.OrderID},
			expect{code: 0, stdout: []string{"held credit"}}},
		{"list an unknown order", []string{"list", "--url", s.url, "42"},
			expect{code: 1, stderr: []string{"no such order"}}},
		{"replay an unknown notification", []string{"replay", "--url", s.url, "42"},
			expect{code: 1, stderr: []string{"no such notification"}}},
		{"list without an order", []string{"list", "--url", s.url}, expect{code: 2, stderr: []string{"ORDERID is required"}}},
		{"send without a method", []string{"send", "--url", s.url, dep.OrderID}, expect{code: 2, stderr: []string{"--method is required"}}},
		{"bad --set", []string{"send", "--url", s.url, "--method", "credit", "--set", "amount", dep.OrderID}, expect{code: 2, stderr: []string{"want key=value"}}},
		{"bad --url", []string{"list", "--url", "nowhere", "1"}, expect{code: 2, stderr: []string{"not an http(s) URL"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.check(t, tool(tt.args...))
		})
	}
	wait("pending") // the replay
	if d, err := wait("debit").Debit(); err != nil || d.Amount != 50 {
		t.Errorf("custom debit %+v, %v", d, err)
	}

	s.shutdown(t)
	if !strings.Contains(s.stderr.String(), "sim: api call") || strings.Contains(s.stderr.String(), "pw") {
		t.Errorf("logs: want the API call and never the password:\n%s", s.stderr.String())
	}

	// A restart keeps the key the merchant configured.
	again := startSim(t, "--keys-dir", keysDir)
	if readFileT(t, again.keyPath) != readFileT(t, s.keyPath) {
		t.Error("the simulator key changed across restarts")
	}
	if banner := strings.Join(again.banner, "\n"); !strings.Contains(banner, "639") || !strings.Contains(banner, "strict") {
		t.Errorf("banner without a merchant key:\n%s", banner)
	}
}

func TestSimCommandUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want expect
	}{
		{"help lists sim", []string{"help"}, expect{code: 0, stdout: []string{"sim ", "Trustly simulator"}}},
		{"flags", []string{"sim", "-h"}, expect{code: 0, stderr: []string{"--merchant-public-key", "--relaxed", "--keys-dir", "--addr"}}},
		{"notifications help", []string{"sim", "notifications", "help"}, expect{code: 0, stdout: []string{"list", "replay", "send"}}},
		{"unreadable merchant key", []string{"sim", "--merchant-public-key", "/nonexistent.pem"}, expect{code: 1, stderr: []string{"nonexistent.pem"}}},
		{"extra argument", []string{"sim", "now"}, expect{code: 2, stderr: []string{`unexpected argument "now"`}}},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.want.check(t, runCLI(t, "", tt.args...)) })
	}
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A busy port is said once, before anything is written to disk.
func TestSimCommandOnABusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	keys := filepath.Join(t.TempDir(), "keys")
	r := runCLI(t, "", "sim", "--addr", busy.Addr().String(), "--keys-dir", keys)
	expect{code: 1, stderr: []string{"trustly-sidecar sim: listen tcp " + busy.Addr().String(), "address already in use"}}.check(t, r)
	if strings.Count(r.stderr, "sim:") != 1 {
		t.Errorf("the prefix is repeated: %q", r.stderr)
	}
	if _, err := os.Stat(keys); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the key folder was created (stat: %v)", err)
	}
}
