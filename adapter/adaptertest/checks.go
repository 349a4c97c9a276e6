package adaptertest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

const (
	callTimeout = 30 * time.Second
	// hangTimeout is the deadline given to a call whose platform hangs.
	// Only its passing matters, never how long the call took.
	hangTimeout = 200 * time.Millisecond
)

func checkDescribe(t *testing.T, s Subject) adapter.Description {
	d, err := s.Adapter.Describe(ctx(t))
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Name == "" || d.Version == "" {
		t.Errorf("Describe = %+v: name and version are required", d)
	}
	if !d.Async && !d.Sync {
		t.Errorf("Describe = %+v: an adapter is async, sync or both", d)
	}
	if len(d.Flows) == 0 {
		t.Errorf("Describe = %+v: no flows", d)
	}
	for _, f := range d.Flows {
		if f == "" {
			t.Errorf("Describe = %+v: a flow this host does not know", d)
		}
	}
	return d
}

func checkTranslate(t *testing.T, s Subject, r Request) {
	cmds, err := s.Adapter.Translate(ctx(t), cloneRequest(r.Request))
	if r.WantErr != nil {
		if !errors.Is(err, r.WantErr) {
			t.Fatalf("Translate = %v, %v; want error %v", cmds, err, r.WantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("Translate: %v (class %s)", err, adapter.Classify(err))
	}
	if len(cmds) == 0 && len(r.Want) == 0 {
		return
	}
	if !reflect.DeepEqual(cmds, r.Want) {
		t.Errorf("Translate:\n got %+v\nwant %+v", cmds, r.Want)
	}
	checkCommands(t, cmds)
}

// checkCommands fails commands the host would refuse: each must pass
// Command.Validate (the host runs the same rules), and no two may share an
// idempotency key (the host would run the second as a replay of the first).
func checkCommands(t *testing.T, cmds []adapter.Command) {
	seen := map[string]bool{}
	for i, c := range cmds {
		if err := c.Validate(); err != nil {
			t.Errorf("command %d: %v: the sidecar would refuse it", i, err)
		}
		if c.IdempotencyKey != "" && seen[c.IdempotencyKey] {
			t.Errorf("command %d: idempotency key %q used twice in one translation", i, c.IdempotencyKey)
		}
		seen[c.IdempotencyKey] = true
	}
}

func checkRedelivery(t *testing.T, s Subject, r Request) {
	again := r.Request
	if r.Redelivery != nil {
		again = *r.Redelivery
	}
	first, err := s.Adapter.Translate(ctx(t), cloneRequest(r.Request))
	if err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	second, err := s.Adapter.Translate(ctx(t), cloneRequest(again))
	if err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if len(first) != len(second) {
		t.Fatalf("redelivery gave %d commands, first delivery %d", len(second), len(first))
	}
	for i := range first {
		if first[i].IdempotencyKey != second[i].IdempotencyKey {
			t.Errorf("command %d: idempotency key %q on redelivery, %q first: the host would act twice",
				i, second[i].IdempotencyKey, first[i].IdempotencyKey)
		}
	}
}

func checkTampered(t *testing.T, s Subject, r Request) {
	req := cloneRequest(r.Request)
	if len(req.Body) == 0 {
		t.Skip("empty body: nothing to tamper with")
	}
	// Flip one bit of the last byte: still the same length, maybe still
	// valid JSON, certainly not what was signed.
	req.Body[len(req.Body)-1] ^= 0x01
	_, err := s.Adapter.Translate(ctx(t), req)
	if !errors.Is(err, adapter.ErrUnauthenticated) {
		t.Errorf("Translate of a tampered body = %v (class %s); want ErrUnauthenticated", err, adapter.Classify(err))
	}
}

// checkWrongHeader sends the request with each authenticating header's
// value changed, for platforms that authenticate by a header alone.
func checkWrongHeader(t *testing.T, s Subject, r Request, headers []string) {
	if len(headers) == 0 {
		t.Fatal("adaptertest: Fixtures.SignatureHeaders is empty; name the headers that authenticate the request")
	}
	for _, h := range headers {
		v := r.Request.Header.Get(h)
		if v == "" {
			t.Fatalf("adaptertest: request %s carries no %s to change", r.Name, h)
		}
		flipped := []byte(v)
		flipped[len(flipped)-1] ^= 0x01
		for name, wrong := range map[string]string{"last byte changed": string(flipped), "one byte longer": v + "x", "one byte shorter": v[:len(v)-1]} {
			req := cloneRequest(r.Request)
			req.Header.Set(h, wrong)
			if _, err := s.Adapter.Translate(ctx(t), req); !errors.Is(err, adapter.ErrUnauthenticated) {
				t.Errorf("Translate with %s %s = %v (class %s); want ErrUnauthenticated", h, name, err, adapter.Classify(err))
			}
		}
	}
}

func checkUnsigned(t *testing.T, s Subject, r Request, headers []string) {
	if len(headers) == 0 {
		t.Fatal("adaptertest: Fixtures.SignatureHeaders is empty; name the headers that carry the signature")
	}
	req := cloneRequest(r.Request)
	for _, h := range headers {
		req.Header.Del(h)
	}
	_, err := s.Adapter.Translate(ctx(t), req)
	if !errors.Is(err, adapter.ErrUnauthenticated) {
		t.Errorf("Translate of an unsigned request = %v (class %s); want ErrUnauthenticated", err, adapter.Classify(err))
	}
}

func checkApplyTwice(t *testing.T, s Subject, ch adapter.StatusChange) {
	s.Platform.SetMode(Healthy)
	if err := s.Adapter.ApplyStatus(ctx(t), ch); err != nil {
		t.Fatalf("first ApplyStatus: %v (class %s)", err, adapter.Classify(err))
	}
	once := s.Platform.Snapshot(ch.Order.ID)
	if err := s.Adapter.ApplyStatus(ctx(t), ch); err != nil {
		t.Fatalf("ApplyStatus of the same change again: %v (class %s); want done", err, adapter.Classify(err))
	}
	if twice := s.Platform.Snapshot(ch.Order.ID); twice != once {
		t.Errorf("applying change %s twice changed the order again:\nonce:  %s\ntwice: %s", ch.ID, once, twice)
	}
}

func checkOutcome(t *testing.T, s Subject, ch adapter.StatusChange, m Mode, want adapter.Class) {
	s.Platform.SetMode(m)
	err := s.Adapter.ApplyStatus(ctx(t), ch)
	if got := adapter.Classify(err); got != want {
		t.Errorf("ApplyStatus with the platform %s = %v (class %s); want class %s", modeName(m), err, got, want)
	}
}

func checkHanging(t *testing.T, s Subject, ch adapter.StatusChange) {
	s.Platform.SetMode(Hanging)
	c, cancel := context.WithTimeout(t.Context(), hangTimeout)
	err := s.Adapter.ApplyStatus(c, ch)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || adapter.Classify(err) != adapter.ClassRetryable {
		t.Errorf("ApplyStatus with the platform hanging = %v; want a retryable deadline error", err)
	}
	// The adapter must not be wedged by the abandoned call.
	s.Platform.SetMode(Healthy)
	if err := s.Adapter.ApplyStatus(ctx(t), ch); err != nil {
		t.Errorf("ApplyStatus after the platform recovered: %v", err)
	}
}

func checkAnswers(t *testing.T, s Subject, d adapter.Description, answers []Answer) {
	if !d.Sync {
		_, err := s.Adapter.Answer(ctx(t), adapter.Request{}, nil)
		if !errors.Is(err, adapter.ErrUnsupported) {
			t.Errorf("Answer on an adapter that is not Sync = %v; want ErrUnsupported", err)
		}
		return
	}
	if len(answers) == 0 {
		t.Fatal("adaptertest: a Sync adapter needs Fixtures.Answers")
	}
	for _, a := range answers {
		resp, err := s.Adapter.Answer(ctx(t), cloneRequest(a.Request), a.Results)
		if err != nil {
			t.Errorf("%s: Answer: %v (class %s)", a.Name, err, adapter.Classify(err))
			continue
		}
		if resp.Status != a.WantStatus {
			t.Errorf("%s: Answer status %d, want %d (body %s)", a.Name, resp.Status, a.WantStatus, resp.Body)
		}
	}
}

func modeName(m Mode) string {
	return [...]string{"healthy", "unavailable", "rejecting", "hanging"}[m]
}
