import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
    ActiveOrderService,
    Customer,
    isGraphQlErrorResult,
    Logger,
    Order,
    OrderService,
    Payment,
    PaymentMethodService,
    Refund,
    RequestContext,
    TransactionalConnection,
    UserInputError,
} from '@vendure/core';

import { loggerCtx, REFUND_OVERTAKE_WINDOW_MS } from './constants';
import { PLUGIN_OPTIONS, TrustlyPluginOptions } from './options';
import { CreatePaymentRequest, SidecarClient, SidecarOrder } from './sidecar-client';

/** The sidecar's status change as the Go adapter sends it (platforms/vendure/callback.go). */
export interface StatusCallback {
    change_id: string;
    payment_id: string;
    refund_id?: string;
    status: string;
    amount_minor: number;
    currency: string;
    provider_reference?: string;
    message?: string;
    occurred_at?: string;
}

/** What applying a callback did, for the controller's answer and the tests. */
export type Applied = { outcome: 'applied' | 'duplicate' | 'noted' | 'ignored'; detail: string };

/** The Shop API mutation's answer: the checkout URL, or why there is none. */
export type PaymentIntent = { url: string; paymentId: string } | { errorMessage: string };

/** ApplyError carries the HTTP status the adapter maps to retryable or permanent. */
export class ApplyError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

// How many change ids a payment remembers for deduplication: far more than
// a payment ever has (pending, paid, a few refunds).
const REMEMBERED_CHANGES = 50;

@Injectable()
export class TrustlyService implements OnApplicationBootstrap {
    readonly client: SidecarClient;

    constructor(
        @Inject(PLUGIN_OPTIONS) private readonly options: TrustlyPluginOptions,
        private readonly connection: TransactionalConnection,
        private readonly orderService: OrderService,
        private readonly activeOrderService: ActiveOrderService,
        private readonly paymentMethodService: PaymentMethodService,
    ) {
        this.client = new SidecarClient(options);
    }

    /** Checks the shared secret at start, without holding the start up: the sidecar may come later. */
    onApplicationBootstrap(): void {
        this.client.ping().then(
            () => Logger.info(`the sidecar at ${this.options.sidecarUrl} shares the secret`, loggerCtx),
            (e: unknown) =>
                Logger.warn(
                    `ping to the sidecar at ${this.options.sidecarUrl} failed: ${e instanceof Error ? e.message : String(e)} ` +
                        '(a 401 means TRUSTLY_VENDURE_SECRET differs from the plugin\'s secret)',
                    loggerCtx,
                ),
        );
    }

    /**
     * The Shop API mutation: adds a Trustly payment to the active order (the
     * handler's createPayment calls the sidecar) and returns the checkout URL.
     * A second call while the last attempt is still open returns that
     * attempt: a double click is not a second Deposit.
     */
    async startPaymentForActiveOrder(ctx: RequestContext): Promise<PaymentIntent> {
        const active = await this.activeOrderService.getActiveOrder(ctx, undefined);
        if (!active) {
            throw new UserInputError('There is no active order');
        }
        if (active.state !== 'ArrangingPayment') {
            throw new UserInputError(`The order is in state ${active.state}; transition it to ArrangingPayment first`);
        }
        const method = await this.methodCode(ctx);
        const open = (await this.orderService.getOrderPayments(ctx, active.id)).find(
            p => p.method === method && p.state === 'Created' && p.amount === active.totalWithTax,
        );
        if (open?.metadata?.public?.trustlyUrl) {
            return { url: open.metadata.public.trustlyUrl, paymentId: open.transactionId };
        }
        const result = await this.orderService.addPaymentToOrder(ctx, active.id, { method, metadata: {} });
        const payments = await this.orderService.getOrderPayments(ctx, active.id);
        const started = payments
            .filter(p => p.method === method)
            .sort((a, b) => Number(b.createdAt) - Number(a.createdAt) || String(b.id).localeCompare(String(a.id)))[0];
        if (isGraphQlErrorResult(result) || started?.state !== 'Created' || !started.metadata?.public?.trustlyUrl) {
            // Answered, not thrown: a throw would roll the Declined payment
            // back, and the next attempt would reuse its idempotency key and
            // get the sidecar's stored answer to it. The reason (the sidecar's
            // answer) is in the log and on the payment, for the admin.
            return { errorMessage: 'The Trustly payment could not be started; please try again' };
        }
        return { url: started.metadata.public.trustlyUrl, paymentId: started.transactionId };
    }

    /** Starts a Deposit for order at the sidecar. */
    async startPayment(ctx: RequestContext, order: Order, amount: number): Promise<SidecarOrder & { url: string }> {
        const full = await this.connection.getEntityOrThrow(ctx, Order, order.id, { relations: ['customer', 'payments'] });
        // Derived from what identifies this attempt, never from the clock: a
        // retry after a crash between the sidecar's answer and Vendure's
        // commit finds the same key, and the sidecar answers with the same
        // payment instead of starting a second one.
        const key = `vendure:${full.code}:${full.payments?.length ?? 0}:${amount}${full.currencyCode}`;
        const created = await this.client.createPayment(key, this.paymentRequest(full, amount));
        if (!created.url) {
            throw new Error(`sidecar payment ${created.id} has no checkout URL (state ${created.state})`);
        }
        return { ...created, url: created.url };
    }

    async startRefund(ctx: RequestContext, order: Order, payment: Payment, amount: number): Promise<SidecarOrder> {
        const refunds = await this.connection.getRepository(ctx, Refund).count({ where: { paymentId: payment.id } });
        const key = `vendure:${order.code}:refund:${payment.id}:${refunds}:${amount}`;
        return this.client.createRefund(payment.transactionId, key, amount, order.currencyCode);
    }

    private paymentRequest(order: Order, amount: number): CreatePaymentRequest {
        const customer: Partial<Customer> = order.customer ?? {};
        const address = order.shippingAddress?.countryCode ? order.shippingAddress : order.billingAddress;
        const [first, ...rest] = (address?.fullName ?? '').trim().split(/\s+/);
        const country = (address?.countryCode || this.options.defaultCountry || 'SE').toUpperCase();
        return {
            amount,
            currency: order.currencyCode,
            shopper: {
                // Stable per shopper: Vendure gives guests a Customer too.
                endUserId: `vendure-customer-${String(customer.id ?? order.code)}`,
                firstName: customer.firstName || first || '-',
                lastName: customer.lastName || rest.join(' ') || '-',
                email: customer.emailAddress || undefined,
                country,
                locale: this.options.locale ?? 'sv_SE',
                mobilePhone: customer.phoneNumber || undefined,
            },
            successUrl: this.options.successUrl(order),
            failUrl: this.options.failUrl(order),
            shopperStatement: this.options.shopperStatement,
            shippingAddress: order.shippingAddress?.countryCode
                ? {
                      country: order.shippingAddress.countryCode.toUpperCase(),
                      postalCode: order.shippingAddress.postalCode || undefined,
                      city: order.shippingAddress.city || undefined,
                      line1: order.shippingAddress.streetLine1 || undefined,
                      line2: order.shippingAddress.streetLine2 || undefined,
                  }
                : undefined,
        };
    }

    private async methodCode(ctx: RequestContext): Promise<string> {
        const methods = await this.paymentMethodService.findAll(ctx, { filter: { enabled: { eq: true } } });
        const m = methods.items.find(i => i.handler.code === 'trustly');
        if (!m) {
            throw new UserInputError('No enabled payment method uses the trustly handler');
        }
        return m.code;
    }

    /**
     * Applies one status change from the sidecar. The table below is the
     * whole mapping; every row is safe to apply twice (the change id is
     * remembered, and each transition checks the state it starts from).
     *
     *   pending        Created → Authorized            (order → PaymentAuthorized)
     *   paid           Created|Authorized → Settled    (order → PaymentSettled)
     *   cancelled      Created → Declined, Authorized → Cancelled (order stays payable)
     *   refund-pending a note (the Refund is already Pending)
     *   refunded       Refund Pending → Settled
     *   refund-failed  Refund Pending → Failed, with Trustly's reason as a note
     *   reversed       a note: Vendure has no state for money taken back after settlement
     *   attention      a note for a person
     *   mandate-*      ignored: Vendure has no recurring payments
     */
    async applyChange(ctx: RequestContext, cb: StatusCallback): Promise<Applied> {
        return this.connection.withTransaction(ctx, async tx => {
            const payment = await this.connection.getRepository(tx, Payment).findOne({
                where: { transactionId: cb.payment_id },
                relations: ['order', 'refunds'],
            });
            if (!payment || !payment.order) {
                throw new ApplyError(404, `no Vendure payment has transactionId ${cb.payment_id}`);
            }
            const seen: string[] = Array.isArray(payment.metadata?.trustlyChanges) ? payment.metadata.trustlyChanges : [];
            if (seen.includes(cb.change_id)) {
                return { outcome: 'duplicate', detail: `change ${cb.change_id} was applied before` };
            }
            const applied = await this.transition(tx, payment, cb);
            // Re-read: the transition saved the payment with its own metadata.
            const fresh = await this.connection.getEntityOrThrow(tx, Payment, payment.id);
            fresh.metadata = { ...fresh.metadata, trustlyChanges: [...seen, cb.change_id].slice(-REMEMBERED_CHANGES) };
            await this.connection.getRepository(tx, Payment).save(fresh, { reload: false });
            return applied;
        });
    }

    private async transition(ctx: RequestContext, payment: Payment, cb: StatusCallback): Promise<Applied> {
        const order = payment.order;
        const note = (text: string) =>
            this.orderService.addNoteToOrder(ctx, { id: order.id, note: `Trustly: ${text}`, isPublic: false });
        const move = async (to: 'Authorized' | 'Settled' | 'Declined' | 'Cancelled') => {
            const r = await this.orderService.transitionPaymentToState(ctx, payment.id, to);
            if (isGraphQlErrorResult(r)) {
                throw new ApplyError(422, `payment ${payment.id} ${payment.state} → ${to}: ${r.message}`);
            }
            return { outcome: 'applied' as const, detail: `payment ${payment.state} → ${to}` };
        };
        switch (cb.status) {
            case 'pending':
                return payment.state === 'Created' ? move('Authorized') : ignored(payment, cb);
            case 'paid':
                if (payment.state !== 'Created' && payment.state !== 'Authorized') {
                    return ignored(payment, cb);
                }
                // The money must be what Vendure asked for: compare with the
                // order, never with the callback's own fields.
                if (cb.amount_minor !== payment.amount || cb.currency !== order.currencyCode) {
                    await note(
                        `credited ${cb.amount_minor} ${cb.currency}, the payment was for ${payment.amount} ${order.currencyCode}: not settled, look at it`,
                    );
                    return { outcome: 'noted', detail: 'amount or currency differs' };
                }
                return move('Settled');
            case 'cancelled':
                if (payment.state === 'Created') {
                    return move('Declined');
                }
                return payment.state === 'Authorized' ? move('Cancelled') : ignored(payment, cb);
            case 'refunded':
            case 'refund-failed': {
                const refund = payment.refunds?.find(r => r.transactionId === cb.refund_id);
                if (!refund) {
                    if (!overtakeWindowPassed(cb.occurred_at)) {
                        // Vendure saves the Refund after the sidecar answered
                        // createRefund, so the outcome can in principle
                        // overtake it: 409 has the sidecar try again shortly.
                        throw new ApplyError(409, `no refund of payment ${payment.id} has transactionId ${cb.refund_id} (yet)`);
                    }
                    // A refund made outside Vendure (the sidecar's API, its
                    // operator): a person decides whether to record it.
                    const what = cb.status === 'refunded' ? 'was paid out' : 'failed';
                    await note(
                        `a refund of ${cb.amount_minor} ${cb.currency} (${cb.refund_id}) ${what}, but no refund recorded in Vendure has that id: ` +
                            `made outside Vendure? Record it here if it belongs to this order${cb.message ? `. ${cb.message}` : ''}`,
                    );
                    return { outcome: 'noted', detail: 'refund unknown to Vendure' };
                }
                if (refund.state !== 'Pending') {
                    return { outcome: 'ignored', detail: `refund already ${refund.state}` };
                }
                const to = cb.status === 'refunded' ? 'Settled' : 'Failed';
                if (cb.message) {
                    await note(cb.message);
                }
                const r = await this.orderService.transitionRefundToState(ctx, refund.id, to);
                if (isGraphQlErrorResult(r)) {
                    throw new ApplyError(422, `refund ${refund.id} → ${to}: ${r.message}`);
                }
                return { outcome: 'applied', detail: `refund Pending → ${to}` };
            }
            case 'refund-pending':
                await note(cb.message || `Trustly accepted a refund of ${cb.amount_minor} ${cb.currency}`);
                return { outcome: 'noted', detail: 'refund accepted' };
            case 'reversed':
            case 'attention':
                await note(cb.message || cb.status);
                return { outcome: 'noted', detail: cb.status };
            default:
                // mandate-* and statuses added after this plugin was written:
                // acknowledged, so they do not wait in the sidecar forever.
                Logger.info(`change ${cb.change_id}: status ${cb.status} has no meaning in Vendure`, loggerCtx);
                return { outcome: 'ignored', detail: `status ${cb.status}` };
        }
    }
}

/** overtakeWindowPassed: the change is older than a Refund's save could lag. */
function overtakeWindowPassed(occurredAt: string | undefined): boolean {
    const at = occurredAt ? Date.parse(occurredAt) : NaN;
    return !Number.isNaN(at) && Date.now() - at > REFUND_OVERTAKE_WINDOW_MS;
}

function ignored(payment: Payment, cb: StatusCallback): Applied {
    return { outcome: 'ignored', detail: `${cb.status} on a ${payment.state} payment` };
}

