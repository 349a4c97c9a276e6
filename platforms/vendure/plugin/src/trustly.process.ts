import { PaymentProcess } from '@vendure/core';
// Not re-exported from the package root in 3.7.
import type { RefundProcess } from '@vendure/core/dist/config/refund/refund-process';

/**
 * A Trustly payment is created when the shopper is sent to the bank, before
 * anything is authorized, so it stays in Vendure's Created state until the
 * sidecar reports. Vendure's default process has no Created → Created
 * transition (the one createPayment makes), so this adds exactly that.
 */
export const trustlyPaymentProcess: PaymentProcess<'Created'> = {
    transitions: {
        Created: { to: ['Created'] },
    },
};

/**
 * Likewise a refund: the sidecar accepted it (Pending) and Trustly pays it
 * out later, so createRefund answers Pending, which Vendure's default
 * refund process cannot transition to from its initial Pending.
 */
export const trustlyRefundProcess: RefundProcess<'Pending'> = {
    transitions: {
        Pending: { to: ['Pending'] },
    },
};
