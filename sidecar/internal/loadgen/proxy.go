package loadgen

import (
	"net"
	"sync"
	"sync/atomic"
)

// Proxy is a TCP proxy that counts round trips: on each connection, bytes
// from the client that follow an answer (or open the connection) start one.
// A pipeline, written at once before its answers are read, is one round
// trip; so is a script. The bench counts from redis-server instead
// (RedisInfo), so as not to add a hop to what it times; a test holds that
// count to this one.
type Proxy struct {
	ln     net.Listener
	target string
	trips  atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// NewProxy listens on a free localhost port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is where clients connect instead of target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// RoundTrips is how many round trips clients have started so far.
func (p *Proxy) RoundTrips() int64 { return p.trips.Load() }

// Close stops accepting, cuts every connection and waits for them.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.track(c, true)
		p.track(s, true)
		var answered atomic.Bool
		answered.Store(true)
		p.wg.Add(2)
		go p.pipe(s, c, func() {
			if answered.Swap(false) {
				p.trips.Add(1)
			}
		})
		go p.pipe(c, s, func() { answered.Store(true) })
	}
}

// pipe copies from → to, calling seen before forwarding each read.
func (p *Proxy) pipe(to, from net.Conn, seen func()) {
	defer p.wg.Done()
	defer func() {
		_ = to.Close()
		_ = from.Close()
		p.track(to, false)
		p.track(from, false)
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			seen()
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
