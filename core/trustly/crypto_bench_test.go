package trustly

import (
	"testing"
	"time"
)

// The crypto of one notification, as the sidecar's notification route pays
// it: parse and verify Trustly's message (Trustly's TEST key), sign the reply
// (the merchant's key). The sidecar's `make bench` builds this package's
// tests once per crypto option (sidecar/bench_crypto_test.go) and reads
// cpu-ns/op, the process's CPU time per operation, which other users of a
// shared machine move less than wall time.
func BenchmarkNotificationCrypto(b *testing.B) {
	v, err := NewVerifier(Test)
	if err != nil {
		b.Fatal(err)
	}
	raw := readTestdata(b, creditVector)
	key := testKATKey(b)
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		n, err := ParseNotification(raw, v)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NewReply(key, n, ReplyOK); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// One signature: the reply's, over its 50-byte plaintext, so nearly all of it
// is the RSA private-key operation.
func BenchmarkSignReply(b *testing.B) {
	key := testKATKey(b)
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		if _, err := SignReply(key, "credit", creditUUID, ReplyOK); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

type cpuClock struct {
	start time.Duration
	ok    bool
}

func startCPU(b *testing.B) cpuClock {
	b.Helper()
	d, ok := processCPU()
	return cpuClock{start: d, ok: ok}
}

// report adds cpu-ns/op where the platform tells process CPU time. b.Loop
// runs the body b.N times in the final round only, and this is read after it.
func (c cpuClock) report(b *testing.B) {
	if !c.ok || b.N == 0 {
		return
	}
	end, _ := processCPU()
	b.ReportMetric(float64((end-c.start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
