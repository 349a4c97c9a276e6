package metrics

import (
	"context"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// MeteredTrustly counts every call to Trustly by method and outcome; the
// client itself knows nothing of metrics.
func MeteredTrustly(api engine.Trustly, m *Set) engine.Trustly { return meteredTrustly{api: api, m: m} }

type meteredTrustly struct {
	api engine.Trustly
	m   *Set
}

var _ engine.Trustly = meteredTrustly{}

func metered[T any](m *Set, method string, v T, err error) (T, error) {
	m.TrustlyCall(method, err)
	return v, err
}

func (t meteredTrustly) Deposit(ctx context.Context, r *trustly.DepositRequest) (*trustly.DepositResult, error) {
	v, err := t.api.Deposit(ctx, r)
	return metered(t.m, "Deposit", v, err)
}

func (t meteredTrustly) SelectAccount(ctx context.Context, r *trustly.SelectAccountRequest) (*trustly.SelectAccountResult, error) {
	v, err := t.api.SelectAccount(ctx, r)
	return metered(t.m, "SelectAccount", v, err)
}

func (t meteredTrustly) Refund(ctx context.Context, r *trustly.RefundRequest) (*trustly.RefundResult, error) {
	v, err := t.api.Refund(ctx, r)
	return metered(t.m, "Refund", v, err)
}

func (t meteredTrustly) Charge(ctx context.Context, r *trustly.ChargeRequest) (*trustly.ChargeResult, error) {
	v, err := t.api.Charge(ctx, r)
	return metered(t.m, "Charge", v, err)
}

func (t meteredTrustly) CancelCharge(ctx context.Context, r *trustly.CancelChargeRequest) (*trustly.CancelChargeResult, error) {
	v, err := t.api.CancelCharge(ctx, r)
	return metered(t.m, "CancelCharge", v, err)
}

func (t meteredTrustly) Balance(ctx context.Context) ([]trustly.Balance, error) {
	v, err := t.api.Balance(ctx)
	return metered(t.m, "Balance", v, err)
}

func (t meteredTrustly) GetWithdrawals(ctx context.Context, orderID string) ([]trustly.Withdrawal, error) {
	v, err := t.api.GetWithdrawals(ctx, orderID)
	return metered(t.m, "GetWithdrawals", v, err)
}
