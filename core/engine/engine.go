package engine

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Trustly is what the engine calls; *trustly.Client implements it. An
// implementation (a wrapper) must pass ctx on to the client: the engine
// starts calls under trustly.SendAfter, so that the order is stored before
// Trustly can see its MessageID, and a payment's Deposit is begun before
// its idempotency claim is back (PreparePayment), sent only if the claim
// lets the payment run.
type Trustly interface {
	Deposit(ctx context.Context, r *trustly.DepositRequest) (*trustly.DepositResult, error)
	SelectAccount(ctx context.Context, r *trustly.SelectAccountRequest) (*trustly.SelectAccountResult, error)
	Refund(ctx context.Context, r *trustly.RefundRequest) (*trustly.RefundResult, error)
	Charge(ctx context.Context, r *trustly.ChargeRequest) (*trustly.ChargeResult, error)
	CancelCharge(ctx context.Context, r *trustly.CancelChargeRequest) (*trustly.CancelChargeResult, error)
	Balance(ctx context.Context) ([]trustly.Balance, error)
	GetWithdrawals(ctx context.Context, orderID string) ([]trustly.Withdrawal, error)
}

var _ Trustly = (*trustly.Client)(nil)

// Defaults of Config.
const (
	DefaultCheckoutTTL     = 30 * time.Minute
	DefaultStaleAfter      = 2 * time.Hour
	DefaultBalanceInterval = 15 * time.Minute
	// DefaultRefundBalanceMaxAge: see Config.RefundBalanceMaxAge.
	DefaultRefundBalanceMaxAge = time.Minute
	DefaultRefundGiveUp        = 24 * time.Hour
	DefaultResolveEvery        = 10 * time.Minute
)

// Config wires an Engine.
type Config struct {
	Store   *store.RedisOrders
	Trustly Trustly
	// Verifier checks notifications with Trustly's key; MerchantKey signs
	// the replies.
	Verifier    *trustly.Verifier
	MerchantKey *rsa.PrivateKey
	// Offline makes an engine for operator tools that only read and move
	// what is stored (the outbox's dead letters, unrouted notifications):
	// no keys are needed, and it refuses notifications.
	Offline bool
	// NotificationURL is sent with every Deposit, SelectAccount and Charge.
	NotificationURL string
	// Environment is the Trustly environment the requests go to (TEST,
	// LIVE or SIM); requests are checked against its rules before anything
	// is stored. Required with Trustly.
	Environment trustly.Environment
	// CheckoutTTL is how long Trustly's checkout URL lives (10–30 minutes);
	// StaleAfter is how long after that an order with no outcome is marked
	// expired by the reconciler.
	CheckoutTTL, StaleAfter time.Duration
	// BalanceInterval is the time between Balance calls; Trustly asks for
	// at most one every 15 minutes, so less is raised to that.
	BalanceInterval time.Duration
	// RefundBalanceMaxAge is how old a known balance may be to refuse a
	// refund on: an older one that does not cover the refund is fetched
	// again first (one call per RefundBalanceMaxAge over all processes,
	// shared by concurrent refunds). Such calls happen only when a refund
	// would otherwise be refused, so they add little to the 15-minute
	// rhythm Trustly asks for.
	RefundBalanceMaxAge time.Duration
	// RefundGiveUp is how long a refund of unknown outcome that
	// GetWithdrawals does not list stays unknown before it is taken as
	// never executed and its amount released; ResolveEvery is how often
	// such a refund is looked up. A refund still new after ResolveEvery
	// was cut off around its Refund call (a crash): since the refund is
	// stored before the call, nobody knows whether the call went out, so
	// it is resolved like an unknown one.
	RefundGiveUp, ResolveEvery time.Duration
	Now                        func() time.Time
	Logger                     *slog.Logger
	// NewID makes order ids and MessageIDs; default 16 random bytes in hex.
	NewID func() string
	// Observer, when set, hears every notification's outcome (metrics).
	Observer Observer
	// KYC is the rule set kyc notifications are decided by (kyc.go). The
	// zero value checks nothing; see DefaultKYCMinimumAge.
	KYC KYCPolicy
}

// Engine runs the payment flows on the store.
type Engine struct {
	cfg   Config
	store *store.RedisOrders
	api   Trustly
	log   *slog.Logger
	now   func() time.Time
	newID func() string
	stats counters
	// balanceCall shares one Balance call among the refunds of this
	// process that need it at the same time.
	balanceCall shared
	// known spares a notification of an order this process has seen the
	// read before its transition.
	known knownOrders
}

// New checks cfg and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("engine: Config.Store is required")
	}
	if !cfg.Offline && (cfg.Verifier == nil || cfg.MerchantKey == nil) {
		return nil, errors.New("engine: Config.Verifier and Config.MerchantKey are required to answer notifications")
	}
	if cfg.Trustly != nil {
		switch cfg.Environment {
		case trustly.Test, trustly.Live, trustly.Sim:
		default:
			return nil, fmt.Errorf("engine: Config.Environment %q: want TEST, LIVE or SIM, the environment the Trustly client calls", cfg.Environment)
		}
	}
	if cfg.CheckoutTTL <= 0 {
		cfg.CheckoutTTL = DefaultCheckoutTTL
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	cfg.BalanceInterval = max(cfg.BalanceInterval, DefaultBalanceInterval)
	if cfg.RefundBalanceMaxAge <= 0 {
		cfg.RefundBalanceMaxAge = DefaultRefundBalanceMaxAge
	}
	if cfg.RefundGiveUp <= 0 {
		cfg.RefundGiveUp = DefaultRefundGiveUp
	}
	if cfg.ResolveEvery <= 0 {
		cfg.ResolveEvery = DefaultResolveEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NewID == nil {
		cfg.NewID = randomID
	}
	return &Engine{cfg: cfg, store: cfg.Store, api: cfg.Trustly, log: cfg.Logger, now: cfg.Now, newID: cfg.NewID}, nil
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// openStates are the states in which an order waits for an outcome, per
// flow; the reconciler looks at orders there past their deadline. A Charge
// has no checkout and no deadline; a refund waits while its Refund call's
// outcome is not stored (new) or not known (unknown).
func openStates(f Flow) []string {
	switch f {
	case FlowDeposit, FlowMandate:
		return []string{string(StateNew), string(StateUnknown), string(StateStarted)}
	case FlowRefund:
		return []string{string(StateNew), string(StateUnknown)}
	}
	return nil
}

// keepStates are the states besides the open ones in which an order must
// not expire (store.Transition.KeepStates): it still waits for something
// the reconciler does not chase. A pending payment waits for its credit; a
// Charge for its PaymentDate; a started refund for its payout; an active
// mandate for the Charges of years to come and its revocation. Settled
// orders (paid included: a debit or a refund still refreshes them) expire
// the retention after their last change.
func keepStates(f Flow) []string {
	switch f {
	case FlowDeposit:
		return []string{string(StatePending)}
	case FlowMandate:
		return []string{string(StateActive)}
	case FlowCharge:
		return []string{string(StateNew), string(StateUnknown), string(StateStarted), string(StatePending)}
	case FlowRefund:
		return []string{string(StateStarted)}
	}
	return nil
}

// releaseStates are where a refund no longer holds its amount on the paid order.
func releaseStates(f Flow) []string {
	if f == FlowRefund {
		return []string{string(StateRejected), string(StateFailed)}
	}
	return nil
}

// step is one event for one order, before it becomes a store.Transition.
type step struct {
	event          Event
	notificationID string
	anomaly        string
	set, onChange  store.OrderPatch
	openUntil      time.Time
	// ignore keeps the order as it is whatever the machine says: the event
	// is logged and deduplicated, nothing else.
	ignore bool
	// answer is what Trustly is told, and a resend is told again; "" is OK.
	answer trustly.ReplyStatus
	// reply is the signed reply, when made before the transition, to keep
	// with its dedupe record.
	reply []byte
	// ifTrustlyOrderID and ifMessageID make the transition conditional on
	// what the step was decided on without reading the order (knownOrders).
	ifTrustlyOrderID, ifMessageID string
	// lines go into the order's timeline with the transition (the call
	// whose answer it records).
	lines []store.LogEntry
	// withOrder asks for the order as it stands afterwards.
	withOrder bool
	// answerEarly: the step records an accepted call on the order as
	// created, so the answer can be stored beside it (earlyAnswer).
	answerEarly bool
	// now is the transition's time; zero: the engine's clock at apply.
	now time.Time
}

func (e *Engine) apply(ctx context.Context, o store.Order, s step, along ...*store.Along) (store.Applied, error) {
	m, err := MachineFor(Flow(o.Flow))
	if err != nil {
		return store.Applied{}, err
	}
	targets := map[string]string{}
	if s.ignore {
		for st := range m.Rank {
			targets[string(st)] = string(st)
		}
	} else {
		for from, to := range m.Targets(s.event) {
			targets[string(from)] = string(to)
		}
	}
	return e.store.ApplyAlong(ctx, store.Transition{
		OrderID:        o.ID,
		ParentID:       o.Parent,
		Event:          string(s.event),
		Targets:        targets,
		NotificationID: s.notificationID,
		Answer:         string(cmp.Or(s.answer, trustly.ReplyOK)),
		Reply:          s.reply,
		Anomaly:        s.anomaly,
		Set:            s.set,
		SetOnChange:    s.onChange,
		ReleaseOn:      releaseStates(Flow(o.Flow)),
		OpenStates:     openStates(Flow(o.Flow)),
		KeepStates:     keepStates(Flow(o.Flow)),
		OpenUntil:      s.openUntil,
		Now:            cmp.Or(s.now, e.now()),

		IfTrustlyOrderID: s.ifTrustlyOrderID,
		IfMessageID:      s.ifMessageID,
		Lines:            s.lines,
		WithOrder:        s.withOrder,
	}, along...)
}
