// Package adaptertest is the conformance kit for platform adapters. Run puts
// an adapter through the real gRPC boundary (the same shims and wire format
// as a plugin process, without the process) and checks the contract:
//
//   - Describe names the adapter and its capabilities;
//   - each fixture translates to the expected commands, and each command
//     passes adapter.Command.Validate, the rules the sidecar refuses by;
//   - a tampered or unsigned request is refused as ErrUnauthenticated (for
//     a platform that authenticates only by a header, Fixtures.HeaderAuth:
//     a request whose header has a wrong value);
//   - idempotency keys are the same when an event is delivered again;
//   - applying a status change twice leaves the platform as applying it once;
//   - every error carries a class (retryable, permanent, ...);
//   - a call to a platform that hangs returns at the caller's deadline.
//
// An adapter's own test is a factory, some fixtures and one call:
//
//	func TestConformance(t *testing.T) { adaptertest.Run(t, newSubject, fixtures()) }
package adaptertest

import (
	"context"
	"net/http"
	"testing"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Mode is how the adapter's fake platform behaves.
type Mode int

// The platform behaviours the kit needs to see an adapter cope with.
const (
	Healthy     Mode = iota // accepts writes
	Unavailable             // answers like a platform that is down (e.g. 503): retryable
	Rejecting               // refuses writes for good (e.g. 422): permanent
	Hanging                 // never answers until the request is abandoned
)

// A fake built on net/http should read the request body before it hangs:
// the server notices that the adapter gave up (and cancels r.Context) only
// once the body has been consumed, and until then httptest.Server.Close
// waits for the hanging handler.

// Platform is the adapter's fake of its platform: what the kit needs to
// steer and observe it.
type Platform interface {
	SetMode(Mode)
	// Snapshot renders the platform's state of an order, in any stable
	// form: the kit only compares snapshots with each other.
	Snapshot(orderID string) string
}

// Subject is one adapter under test with its fake platform.
type Subject struct {
	Adapter  adapter.Adapter
	Platform Platform
}

// Factory builds a fresh Subject for each check.
type Factory func(t *testing.T) Subject

// Fixtures are an adapter's examples of its platform's traffic.
type Fixtures struct {
	// Requests are inbound platform requests with what they must become.
	Requests []Request
	// SignatureHeaders are deleted from a valid request to make it
	// unsigned; the adapter must refuse the result.
	SignatureHeaders []string
	// HeaderAuth says the platform authenticates its requests only by a
	// header's value (a shared Authorization value, like the
	// AuthorizationHeader of a commercetools API Extension's destination),
	// not by a signature over the body. A changed body is then still
	// authentic, so instead of the tampered-body check the kit sends each
	// of SignatureHeaders with a wrong value (its last byte changed; one
	// byte longer; one byte shorter) and wants ErrUnauthenticated for each.
	HeaderAuth bool
	// Changes are status changes to apply, each to an order the fake
	// platform knows.
	Changes []adapter.StatusChange
	// Answers are synchronous exchanges, for adapters that Describe Sync.
	Answers []Answer
}

// Request is one inbound request and its expected translation.
type Request struct {
	Name    string
	Request adapter.Request
	// Redelivery is the same platform event delivered again (usually
	// re-signed at a later time); nil means Request itself again.
	Redelivery *adapter.Request
	// Want is the expected commands; compared field by field.
	Want []adapter.Command
	// WantErr, when set, is the sentinel the request must fail with (a
	// malformed fixture); Want is then ignored.
	WantErr error
}

// Answer is one synchronous exchange.
type Answer struct {
	Name       string
	Request    adapter.Request
	Results    []adapter.Result
	WantStatus int
}

// Run checks the adapter made by factory against fixtures.
func Run(t *testing.T, factory Factory, fx Fixtures) {
	t.Helper()
	if len(fx.Requests) == 0 || len(fx.Changes) == 0 {
		t.Fatal("adaptertest: fixtures need at least one request and one status change")
	}
	var desc adapter.Description
	t.Run("describe", func(t *testing.T) { desc = checkDescribe(t, dial(t, factory)) })
	for _, r := range fx.Requests {
		t.Run("translate/"+r.Name, func(t *testing.T) { checkTranslate(t, dial(t, factory), r) })
		if r.WantErr != nil {
			continue
		}
		t.Run("redelivery/"+r.Name, func(t *testing.T) { checkRedelivery(t, dial(t, factory), r) })
		if fx.HeaderAuth {
			t.Run("wrong-header/"+r.Name, func(t *testing.T) { checkWrongHeader(t, dial(t, factory), r, fx.SignatureHeaders) })
		} else {
			t.Run("tampered/"+r.Name, func(t *testing.T) { checkTampered(t, dial(t, factory), r) })
		}
		t.Run("unsigned/"+r.Name, func(t *testing.T) { checkUnsigned(t, dial(t, factory), r, fx.SignatureHeaders) })
	}
	for _, ch := range fx.Changes {
		t.Run("apply-twice/"+ch.ID, func(t *testing.T) { checkApplyTwice(t, dial(t, factory), ch) })
	}
	ch := fx.Changes[0]
	t.Run("platform-unavailable", func(t *testing.T) { checkOutcome(t, dial(t, factory), ch, Unavailable, adapter.ClassRetryable) })
	t.Run("platform-rejecting", func(t *testing.T) { checkOutcome(t, dial(t, factory), ch, Rejecting, adapter.ClassPermanent) })
	t.Run("platform-hanging", func(t *testing.T) { checkHanging(t, dial(t, factory), ch) })
	t.Run("answer", func(t *testing.T) { checkAnswers(t, dial(t, factory), desc, fx.Answers) })
}

// dial builds a subject and connects to its adapter through go-plugin's
// in-memory gRPC pair.
func dial(t *testing.T, factory Factory) Subject {
	t.Helper()
	s := factory(t)
	if s.Adapter == nil || s.Platform == nil {
		t.Fatal("adaptertest: the factory must return an Adapter and its Platform")
	}
	client, _ := plugin.TestPluginGRPCConn(t, false, adapter.PluginSets(s.Adapter)[adapter.ProtocolVersion])
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(adapter.PluginName)
	if err != nil {
		t.Fatalf("adaptertest: dispense: %v", err)
	}
	s.Adapter = raw.(adapter.Adapter)
	return s
}

// ctx is every call's context: a generous deadline, so a broken adapter
// fails the test instead of hanging it. No check depends on its length.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return c
}

// cloneRequest copies r so a check can change it without touching the
// fixture.
func cloneRequest(r adapter.Request) adapter.Request {
	r.Header = r.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Body = append([]byte(nil), r.Body...)
	return r
}
