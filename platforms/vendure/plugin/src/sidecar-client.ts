import { randomUUID } from 'node:crypto';

import { TrustlyPluginOptions } from './options';
import { HEADER_SIGNATURE, HEADER_TIMESTAMP, sign } from './signature';

/** A sidecar order (the shop API's Order schema), the fields the plugin reads. */
export interface SidecarOrder {
    id: string;
    flow: 'deposit' | 'mandate' | 'charge' | 'refund';
    state: string;
    amount: number;
    currency?: string;
    credited: number;
    refunded: number;
    refundable: number;
    trustlyOrderId?: string;
    url?: string;
    reason?: string;
}

export interface CreatePaymentRequest {
    amount: number;
    currency: string;
    shopper: {
        endUserId: string;
        firstName: string;
        lastName: string;
        email?: string;
        country: string;
        locale: string;
        mobilePhone?: string;
    };
    successUrl: string;
    failUrl: string;
    shopperStatement: string;
    shippingAddress?: { country: string; postalCode?: string; city?: string; line1?: string; line2?: string };
}

/** SidecarError carries the shop API's stable error code (e.g. amount_exceeds_refundable). */
export class SidecarError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

/** SidecarClient speaks the sidecar's shop API (sidecar/internal/httpapi/openapi.json). */
export class SidecarClient {
    constructor(private readonly options: TrustlyPluginOptions) {}

    createPayment(idempotencyKey: string, req: CreatePaymentRequest): Promise<SidecarOrder> {
        return this.call('POST', '/v1/payments', idempotencyKey, req);
    }

    createRefund(paymentId: string, idempotencyKey: string, amount: number, currency: string): Promise<SidecarOrder> {
        return this.call('POST', `/v1/payments/${encodeURIComponent(paymentId)}/refunds`, idempotencyKey, {
            amount,
            currency,
        });
    }

    getPayment(paymentId: string): Promise<SidecarOrder> {
        return this.call('GET', `/v1/payments/${encodeURIComponent(paymentId)}`);
    }

    /**
     * ping proves the plugin and the sidecar's vendure adapter share the
     * secret: the adapter refuses a ping signed with another (401). The
     * plugin sends one at start, so a wrong secret shows in the log at once
     * rather than as dead-lettered status changes after the first payment.
     */
    async ping(): Promise<void> {
        const body = Buffer.from(JSON.stringify({ event: 'ping', id: `vendure-${randomUUID()}` }));
        const now = Math.floor(Date.now() / 1000);
        await this.call('POST', '/v1/webhooks/vendure', undefined, body, {
            'Content-Type': 'application/json',
            [HEADER_TIMESTAMP]: String(now),
            [HEADER_SIGNATURE]: sign(this.options.secret, 'webhook', now, body),
        });
    }

    private async call<T>(
        method: string,
        path: string,
        idempotencyKey?: string,
        body?: unknown,
        extraHeaders: Record<string, string> = {},
    ): Promise<T> {
        const headers: Record<string, string> = {
            Authorization: `Bearer ${this.options.shopApiToken}`,
            Accept: 'application/json',
            ...extraHeaders,
        };
        if (idempotencyKey) {
            headers['Idempotency-Key'] = idempotencyKey;
        }
        if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
        }
        const res = await fetch(new URL(path, this.options.sidecarUrl), {
            method,
            headers,
            // A Buffer is sent as it is: its bytes are what was signed.
            body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
            signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
        const text = await res.text();
        if (!res.ok) {
            let code = 'http_' + res.status;
            let message = text.slice(0, 300);
            try {
                const e = JSON.parse(text) as { error?: { code?: string; message?: string } };
                code = e.error?.code ?? code;
                message = e.error?.message ?? message;
            } catch {
                // not JSON: keep the start of the body
            }
            throw new SidecarError(res.status, code, `sidecar ${method} ${path}: ${res.status} ${code}: ${message}`);
        }
        return JSON.parse(text) as T;
    }
}
