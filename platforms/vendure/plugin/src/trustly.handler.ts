import {
    CreatePaymentResult,
    CreateRefundResult,
    Injector,
    LanguageCode,
    Logger,
    PaymentMethodHandler,
} from '@vendure/core';

import { loggerCtx } from './constants';
import { SidecarError } from './sidecar-client';
import { TrustlyService } from './trustly.service';

let service: TrustlyService;

/**
 * The Trustly payment method. A payment starts in Vendure's Created state,
 * holding the sidecar's payment id as its transactionId and the Trustly
 * checkout URL in its public metadata; only the sidecar's status callbacks
 * (TrustlyController) move it on, because only Trustly knows when the money
 * arrived.
 */
export const trustlyPaymentHandler = new PaymentMethodHandler({
    code: 'trustly',
    description: [{ languageCode: LanguageCode.en, value: 'Trustly (bank payment)' }],
    args: {},
    init(injector: Injector) {
        service = injector.get(TrustlyService);
    },

    async createPayment(ctx, order, amount): Promise<CreatePaymentResult> {
        try {
            const started = await service.startPayment(ctx, order, amount);
            return {
                amount,
                state: 'Created',
                transactionId: started.id,
                metadata: { public: { trustlyUrl: started.url } },
            };
        } catch (e) {
            Logger.warn(`order ${order.code}: Trustly payment not started: ${errorText(e)}`, loggerCtx);
            // 'Declined' rather than 'Error': the order stays payable and the
            // shopper may try again.
            return { amount, state: 'Declined', errorMessage: errorText(e), metadata: {} };
        }
    },

    // Called when the sidecar reports the money credited, and when an admin
    // presses "settle": either way the sidecar's own state decides, so an
    // early click cannot mark an unpaid order paid.
    async settlePayment(ctx, order, payment) {
        const p = await service.client.getPayment(payment.transactionId);
        if (p.state !== 'paid' || p.credited !== payment.amount || p.currency !== order.currencyCode) {
            throw new Error(
                `Trustly has not credited ${payment.amount} ${order.currencyCode} for this payment (sidecar state ${p.state}, credited ${p.credited} ${p.currency ?? ''})`,
            );
        }
        return { success: true, metadata: { trustlyOrderId: p.trustlyOrderId } };
    },

    // Trustly has no call that stops a bank transfer under way: a payment is
    // cancelled when Trustly says so. An admin's cancel is refused until then.
    async cancelPayment(ctx, order, payment) {
        const p = await service.client.getPayment(payment.transactionId);
        if (!['cancelled', 'expired', 'rejected'].includes(p.state)) {
            throw new Error(`Trustly cannot cancel a payment in state ${p.state}; refund it once it is paid`);
        }
        return { success: true };
    },

    // A refund is Pending until the sidecar reports Trustly paid it out
    // (Settled) or not (Failed).
    async createRefund(ctx, input, amount, order, payment): Promise<CreateRefundResult> {
        try {
            const r = await service.startRefund(ctx, order, payment, amount);
            return { state: 'Pending', transactionId: r.id, metadata: { trustlyRefundState: r.state } };
        } catch (e) {
            Logger.warn(`order ${order.code}: Trustly refund not started: ${errorText(e)}`, loggerCtx);
            const code = e instanceof SidecarError ? e.code : 'unreachable';
            return { state: 'Failed', metadata: { errorMessage: errorText(e), errorCode: code } };
        }
    },
});

function errorText(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}
