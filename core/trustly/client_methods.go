package trustly

import (
	"context"
	"fmt"
)

// Typed calls: each validates, sends through Call (with its retry policy)
// and parses the verified answer. See Call for the errors they return.

// Deposit starts a payment; the result's URL is for the shopper to open now.
func (c *Client) Deposit(ctx context.Context, r *DepositRequest) (*DepositResult, error) {
	return callTyped(ctx, c, r, ParseDepositResult)
}

// SelectAccount lets the shopper pick an account, optionally signing a
// direct-debit mandate.
func (c *Client) SelectAccount(ctx context.Context, r *SelectAccountRequest) (*SelectAccountResult, error) {
	return callTyped(ctx, c, r, ParseSelectAccountResult)
}

// Refund pays money back to the account that paid OrderID. It is sent once:
// on ErrOutcomeUnknown, find out what happened before trying again.
func (c *Client) Refund(ctx context.Context, r *RefundRequest) (*RefundResult, error) {
	return callTyped(ctx, c, r, ParseRefundResult)
}

// Charge collects from an account with an active mandate.
func (c *Client) Charge(ctx context.Context, r *ChargeRequest) (*ChargeResult, error) {
	return callTyped(ctx, c, r, ParseChargeResult)
}

// CancelCharge stops a Charge whose PaymentDate has not come. Sent once.
func (c *Client) CancelCharge(ctx context.Context, r *CancelChargeRequest) (*CancelChargeResult, error) {
	return callTyped(ctx, c, r, ParseCancelChargeResult)
}

// Balance returns the merchant's balance per currency. Trustly asks that it
// be called at most every 15 minutes; callers schedule it.
func (c *Client) Balance(ctx context.Context) ([]Balance, error) {
	return callTyped(ctx, c, &BalanceRequest{}, ParseBalanceResult)
}

// GetWithdrawals lists the payouts of a Withdraw, AccountPayout or Refund order.
func (c *Client) GetWithdrawals(ctx context.Context, orderID string) ([]Withdrawal, error) {
	return callTyped(ctx, c, &GetWithdrawalsRequest{OrderID: orderID}, ParseWithdrawalsResult)
}

func callTyped[T any](ctx context.Context, c *Client, req Request, parse func(any) (T, error)) (T, error) {
	var zero T
	resp, err := c.Call(ctx, req)
	if err != nil {
		return zero, err
	}
	out, err := parse(resp.Data)
	if err != nil {
		// Trustly signed an answer we cannot read: it may well have acted
		// on the call, so only read-only methods may treat this as nothing.
		err = fmt.Errorf("trustly: %s uuid=%s: %w", req.Method(), resp.UUID, err)
		if policyFor(req.Method(), req.messageID()) != retryReadOnly {
			err = fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		c.log.WarnContext(ctx, "trustly: unreadable answer", "method", req.Method(), "uuid", resp.UUID,
			"messageid", req.messageID(), "error", err.Error())
		return zero, err
	}
	return out, nil
}
