package store

import (
	"context"
	"errors"
	"net"
	"testing"
)

// replyErr is an error reply from Redis, as go-redis reports one.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

func TestWrapRedis(t *testing.T) {
	for _, tc := range []struct {
		err         error
		unavailable bool
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{context.DeadlineExceeded, true},
		{replyErr("LOADING Redis is loading the dataset in memory"), true},
		{replyErr("CLUSTERDOWN The cluster is down"), true},
		{replyErr("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{replyErr("MASTERDOWN Link with MASTER is down"), true},
		{replyErr("READONLY You can't write against a read only replica."), true},
		{replyErr("BUSY Redis is busy running a script."), true},
		{replyErr("OOM command not allowed when used memory > 'maxmemory'."), true},
		{replyErr("MOVED 3999 127.0.0.1:6381"), true},
		{replyErr("ASK 3999 127.0.0.1:6381"), true},
		{replyErr("CROSSSLOT Keys in request don't hash to the same slot"), false},
		{replyErr("ERR Error running script: attempt to compare nil with number"), false},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			err := wrapRedis(context.Background(), "claim", tc.err)
			if errors.Is(err, ErrUnavailable) != tc.unavailable {
				t.Fatalf("wrapRedis(%v) = %v; unavailable = %t, want %t", tc.err, err, !tc.unavailable, tc.unavailable)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("wrapRedis dropped the cause: %v", err)
			}
		})
	}
}
