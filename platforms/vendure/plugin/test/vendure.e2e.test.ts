// End to end: a real Vendure server (@vendure/testing, SQLite in memory)
// with the Trustly plugin, the real trustly-sidecar binary serving with the
// Vendure adapter, and the real simulator, all over real sockets. The
// shopper's bank is the simulator's checkout page, driven over HTTP.
import { mergeConfig } from '@vendure/core';
import { createTestEnvironment, registerInitializer, SqljsInitializer, testConfig } from '@vendure/testing';
import { createServer, request as httpRequest, Server } from 'node:http';
import gql from 'graphql-tag';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SidecarClient, SidecarError, sign, TrustlyPlugin, TrustlyPluginOptions } from '../dist';
import { freePort, Stack, startStack, waitFor } from './stack';

// The tests run offline and tell nobody about themselves.
process.env.VENDURE_DISABLE_TELEMETRY = 'true';

registerInitializer('sqljs', new SqljsInitializer(path.join(__dirname, '__data__')));


/**
 * A door in front of Vendure's status route: the sidecar reaches Vendure
 * through it, and closing it makes Vendure unreachable (connection refused)
 * without stopping the server, which would lose its in-memory database.
 */
class Door {
    private server?: Server;
    constructor(
        readonly port: number,
        private readonly target: number,
    ) {}
    open(): Promise<void> {
        this.server = createServer((req, res) => {
            const up = httpRequest(
                { host: '127.0.0.1', port: this.target, path: req.url, method: req.method, headers: req.headers },
                r => {
                    res.writeHead(r.statusCode ?? 502, r.headers);
                    r.pipe(res);
                },
            );
            up.on('error', () => res.writeHead(502).end());
            req.pipe(up);
        });
        return new Promise(resolve => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
    }
    close(): Promise<void> {
        const s = this.server;
        this.server = undefined;
        if (!s) return Promise.resolve();
        return new Promise(resolve => {
            s.closeAllConnections();
            s.close(() => resolve());
        });
    }
}

let stack: Stack;
let door: Door;
// The plugin reads its options when the server starts: the sidecar's
// address and secrets are filled in once it runs.
const options: TrustlyPluginOptions = {
    sidecarUrl: 'http://127.0.0.1:1',
    shopApiToken: 'filled-in-by-beforeAll',
    secret: 'filled-in-by-beforeAll',
    successUrl: order => `https://shop.example/order/${order.code}`,
    failUrl: order => `https://shop.example/checkout/${order.code}`,
    shopperStatement: 'Vendure test shop',
    locale: 'sv_SE',
};
const vendurePort = await freePort();

const { server, adminClient, shopClient } = createTestEnvironment(
    mergeConfig(testConfig, { apiOptions: { port: vendurePort }, plugins: [TrustlyPlugin.init(options)] }),
);

beforeAll(async () => {
    door = new Door(await freePort(), vendurePort);
    stack = await startStack(`http://127.0.0.1:${door.port}/trustly/status`);
    Object.assign(options, { sidecarUrl: stack.sidecarUrl, shopApiToken: stack.shopApiToken, secret: stack.secret });
    await server.init({
        productsCsvPath: path.join(__dirname, 'fixtures/products.csv'),
        initialData: {
            defaultLanguage: 'en' as never,
            defaultZone: 'Europe',
            taxRates: [{ name: 'Standard Tax', percentage: 25 }],
            shippingMethods: [{ name: 'Standard Shipping', price: 4900 }],
            paymentMethods: [{ name: 'Trustly', handler: { code: 'trustly', arguments: [] } }],
            countries: [{ name: 'Sweden', code: 'SE', zone: 'Europe' }],
            collections: [],
        },
        customerCount: 1,
    });
    await adminClient.asSuperAdmin();
    // Trustly takes no USD, Vendure's default: the shop sells in SEK.
    await adminClient.query(gql`
        mutation {
            updateChannel(input: { id: "T_1", defaultCurrencyCode: SEK, availableCurrencyCodes: [SEK] }) {
                ... on Channel { id }
            }
            updateProductVariants(input: [{ id: "T_1", prices: [{ currencyCode: SEK, price: 10350 }] }]) { id }
        }
    `);
    await door.open();
}, 120_000);

afterAll(async () => {
    await server?.destroy();
    await door?.close();
    await stack?.stop();
});

/** An order of one pair of socks, paid with Trustly up to the bank's page. */
async function checkout(email: string): Promise<{ code: string; total: number; url: string; paymentId: string; errorMessage?: string }> {
    await shopClient.asAnonymousUser();
    const { addItemToOrder } = await shopClient.query(gql`
        mutation {
            addItemToOrder(productVariantId: "T_1", quantity: 1) {
                ... on Order { code }
                ... on ErrorResult { message }
            }
        }
    `);
    expect(addItemToOrder).toMatchObject({ code: expect.any(String) });
    await shopClient.query(
        gql`
            mutation ($email: String!) {
                setCustomerForOrder(input: { emailAddress: $email, firstName: "Åsa", lastName: "Ek" }) {
                    ... on Order { id }
                    ... on ErrorResult { message }
                }
                setOrderShippingAddress(
                    input: { fullName: "Åsa Ek", streetLine1: "Drottninggatan 1", city: "Stockholm", postalCode: "11151", countryCode: "SE" }
                ) {
                    ... on Order { id }
                }
            }
        `,
        { email },
    );
    const { eligibleShippingMethods } = await shopClient.query(gql`
        query { eligibleShippingMethods { id } }
    `);
    await shopClient.query(
        gql`
            mutation ($id: [ID!]!) {
                setOrderShippingMethod(shippingMethodId: $id) {
                    ... on Order { id }
                    ... on ErrorResult { message }
                }
            }
        `,
        { id: [eligibleShippingMethods[0].id] },
    );
    const { transitionOrderToState } = await shopClient.query(gql`
        mutation {
            transitionOrderToState(state: "ArrangingPayment") {
                ... on Order { state totalWithTax currencyCode }
                ... on OrderStateTransitionError { transitionError }
            }
        }
    `);
    expect(transitionOrderToState).toMatchObject({ state: 'ArrangingPayment', currencyCode: 'SEK' });
    const { createTrustlyPaymentIntent } = await shopClient.query(gql`
        mutation { createTrustlyPaymentIntent { url paymentId errorMessage } }
    `);
    return { code: addItemToOrder.code, total: transitionOrderToState.totalWithTax, ...createTrustlyPaymentIntent };
}

async function atBank(url: string, action: 'approve' | 'decline', scenario = ''): Promise<void> {
    const res = await fetch(url, {
        method: 'POST',
        body: new URLSearchParams({ action, scenario }),
        redirect: 'manual',
    });
    expect(res.status).toBe(303);
}

interface AdminOrder {
    id: string;
    state: string;
    payments: { id: string; state: string; amount: number; transactionId: string; refunds: { id: string; state: string; total: number }[] }[];
    history: { items: { type: string; data: Record<string, unknown> }[] };
}

async function adminOrder(code: string): Promise<AdminOrder> {
    const { orders } = await adminClient.query(
        gql`
            query ($code: String!) {
                orders(options: { filter: { code: { eq: $code } } }) {
                    items {
                        id
                        state
                        payments { id state amount transactionId refunds { id state total } }
                        history(options: { take: 100 }) { items { type data } }
                    }
                }
            }
        `,
        { code },
    );
    return orders.items[0];
}

const until = (code: string, what: string, ok: (o: AdminOrder) => boolean, ms = 30_000) =>
    waitFor(async () => {
        const o = await adminOrder(code);
        return ok(o) ? o : undefined;
    }, `order ${code}: ${what}`, stack.log, ms);

describe('Trustly in Vendure, end to end', () => {
    it('a paid order reaches PaymentSettled', async () => {
        const { code, total, url, paymentId } = await checkout('asa.ek@example.se');
        expect(url.startsWith(stack.simUrl)).toBe(true);
        // Starting again before paying is the same attempt, not a second Deposit.
        const { createTrustlyPaymentIntent: again } = await shopClient.query(gql`
            mutation { createTrustlyPaymentIntent { url paymentId } }
        `);
        expect(again).toEqual({ url, paymentId });
        let order = await adminOrder(code);
        expect(order.payments).toMatchObject([{ state: 'Created', amount: total, transactionId: paymentId }]);

        await atBank(url, 'approve');
        order = await until(code, 'PaymentSettled', o => o.state === 'PaymentSettled');
        expect(order.payments).toMatchObject([{ state: 'Settled', amount: total }]);
        // Trustly's pending came first (the bank transfer under way), then its credit.
        const steps = (type: string) =>
            order.history.items.filter(h => h.type === type).map(h => `${h.data.from}→${h.data.to}`);
        expect(steps('ORDER_PAYMENT_TRANSITION')).toEqual(['Created→Created', 'Created→Authorized', 'Authorized→Settled']);
        expect(steps('ORDER_STATE_TRANSITION').slice(-2)).toEqual(['ArrangingPayment→PaymentAuthorized', 'PaymentAuthorized→PaymentSettled']);
    }, 60_000);

    it('a declined payment is Declined and the order stays payable', async () => {
        const { code, url } = await checkout('decline@example.se');
        await atBank(url, 'decline');
        const order = await until(code, 'payment declined', o => o.payments[0]?.state === 'Declined');
        expect(order.state).toBe('ArrangingPayment');
        // The shopper can try again: a fresh attempt at the bank.
        const { createTrustlyPaymentIntent } = await shopClient.query(gql`
            mutation { createTrustlyPaymentIntent { url paymentId } }
        `);
        expect(createTrustlyPaymentIntent.url).not.toBe(url);
        await atBank(createTrustlyPaymentIntent.url, 'approve');
        await until(code, 'paid on the second attempt', o => o.state === 'PaymentSettled');
    }, 60_000);

    it('a refund from the Admin API is settled once Trustly paid it out', async () => {
        const { code, url } = await checkout('refund@example.se');
        await atBank(url, 'approve');
        const paid = await until(code, 'PaymentSettled', o => o.state === 'PaymentSettled');
        const { refundOrder } = await adminClient.query(
            gql`
                mutation ($paymentId: ID!) {
                    refundOrder(input: { paymentId: $paymentId, amount: 5000, shipping: 0, adjustment: 0, reason: "one sock was missing" }) {
                        ... on Refund { id state total transactionId }
                        ... on ErrorResult { errorCode message }
                    }
                }
            `,
            { paymentId: paid.payments[0].id },
        );
        expect(refundOrder).toMatchObject({ state: 'Pending', total: 5000 });
        expect(refundOrder.transactionId).toBeTruthy();
        const order = await until(code, 'refund settled', o => o.payments[0].refunds[0]?.state === 'Settled', 45_000);
        expect(order.payments[0].refunds).toMatchObject([{ state: 'Settled', total: 5000 }]);
    }, 90_000);

    it('a refund Trustly could not pay out is Failed, with the reason as a note', async () => {
        const { code, url } = await checkout('refund-fails@example.se');
        // PF: the simulator's payout of every refund of this order fails.
        await atBank(url, 'approve', 'PF');
        const paid = await until(code, 'PaymentSettled', o => o.state === 'PaymentSettled');
        const { refundOrder } = await adminClient.query(
            gql`
                mutation ($paymentId: ID!) {
                    refundOrder(input: { paymentId: $paymentId, amount: 3000, shipping: 0, adjustment: 0, reason: "goodwill" }) {
                        ... on Refund { id state }
                        ... on ErrorResult { errorCode message }
                    }
                }
            `,
            { paymentId: paid.payments[0].id },
        );
        expect(refundOrder).toMatchObject({ state: 'Pending' });
        const order = await until(code, 'refund failed', o => o.payments[0].refunds[0]?.state === 'Failed', 45_000);
        const notes = order.history.items.filter(h => h.type === 'ORDER_NOTE').map(h => String(h.data.note));
        expect(notes.some(n => n.includes('failed'))).toBe(true);
    }, 90_000);

    it('the sidecar unreachable: the shopper is told plainly, the order stays payable', async () => {
        const sidecarUrl = options.sidecarUrl;
        options.sidecarUrl = 'http://127.0.0.1:1'; // the plugin reads its options on every call
        try {
            const started = await checkout('nosidecar@example.se');
            expect(started).toMatchObject({ url: null, errorMessage: 'The Trustly payment could not be started; please try again' });
        } finally {
            options.sidecarUrl = sidecarUrl;
        }
        const { activeOrder } = await shopClient.query(gql`
            query { activeOrder { code state payments { state errorMessage } } }
        `);
        expect(activeOrder.state).toBe('ArrangingPayment');
        expect(activeOrder.payments).toMatchObject([{ state: 'Declined' }]);
        // The shop API token never reaches the shopper or the payment.
        expect(JSON.stringify(activeOrder)).not.toContain(stack.shopApiToken);
        const { createTrustlyPaymentIntent } = await shopClient.query(gql`
            mutation { createTrustlyPaymentIntent { url } }
        `);
        expect(createTrustlyPaymentIntent.url.startsWith(stack.simUrl)).toBe(true);
    });

    it('a change made while Vendure is unreachable arrives once it is back, once', async () => {
        const { code, url } = await checkout('down@example.se');
        await door.close();
        await atBank(url, 'approve');
        // Pending and credit happen at Trustly while Vendure is away.
        await new Promise(r => setTimeout(r, 7_000));
        expect((await adminOrder(code)).payments[0].state).toBe('Created');
        // The sidecar did try, and was told to come back (no connection: retryable).
        const refused = stack.log().split('\n').filter(l => l.includes('delivery failed; will retry') && l.includes(String(door.port)));
        expect(refused.length).toBeGreaterThan(0);
        expect(stack.log()).not.toContain('dead-lettered');
        await door.open();
        const order = await until(code, 'PaymentSettled after the outage', o => o.state === 'PaymentSettled');
        const transitions = order.history.items.filter(h => h.type === 'ORDER_PAYMENT_TRANSITION').map(h => `${h.data.from}→${h.data.to}`);
        // Each transition happened exactly once, however often it was sent.
        expect(transitions.filter(t => t.endsWith('→Settled'))).toHaveLength(1);
        expect(new Set(transitions).size).toBe(transitions.length);
    }, 90_000);
});

/** posts a status callback to Vendure directly, as the adapter would (signed unless told). */
async function postStatus(cb: Record<string, unknown>, how: { secret?: string; tamper?: boolean } = {}) {
    const body = Buffer.from(JSON.stringify(cb));
    const now = Math.floor(Date.now() / 1000);
    const sig = sign(how.secret ?? stack.secret, 'callback', now, body);
    const sent = how.tamper ? Buffer.from(JSON.stringify({ ...cb, status: 'cancelled' })) : body;
    const res = await fetch(`http://127.0.0.1:${vendurePort}/trustly/status`, {
        method: 'POST',
        headers: {
            'Content-Type': 'application/json',
            'Idempotency-Key': String(cb.change_id),
            'Trustly-Sidecar-Timestamp': String(now),
            'Trustly-Sidecar-Signature': sig,
        },
        body: sent,
    });
    return { status: res.status, body: (await res.json()) as { outcome?: string; error?: string } };
}

describe('the shared secret', () => {
    it('is in no log of the sidecar, nor is the shop API token', () => {
        expect(stack.log()).toContain('status delivered to the platform');
        expect(stack.log()).not.toContain(stack.secret);
        expect(stack.log()).not.toContain(stack.shopApiToken);
    });

    it('a ping proves the plugin and the sidecar share it', async () => {
        await new SidecarClient(options).ping();
        const wrong = new SidecarClient({ ...options, secret: 'not-the-shared-secret-at-all' });
        const err = await wrong.ping().then(
            () => undefined,
            (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SidecarError);
        expect((err as InstanceType<typeof SidecarError>).status).toBe(401);
    });
});

describe('the status controller', () => {
    it('refuses what the sidecar did not sign, and payments it does not know', async () => {
        const { paymentId } = await checkout('controller@example.se');
        const cb = { change_id: `${paymentId}:99`, payment_id: paymentId, status: 'paid', amount_minor: 1, currency: 'SEK' };
        expect((await postStatus(cb, { secret: 'not-the-shared-secret-at-all' })).status).toBe(401);
        expect((await postStatus(cb, { tamper: true })).status).toBe(401);
        const unsigned = await fetch(`http://127.0.0.1:${vendurePort}/trustly/status`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Idempotency-Key': cb.change_id },
            body: JSON.stringify(cb),
        });
        expect(unsigned.status).toBe(401);
        expect((await postStatus({ ...cb, payment_id: 'unknown', change_id: 'unknown:1' })).status).toBe(404);
        // A refund Vendure has not saved (yet): try again later.
        expect((await postStatus({ ...cb, change_id: 'ref_x:1', status: 'refunded', refund_id: 'ref_x' })).status).toBe(409);
        const now = new Date().toISOString();
        expect((await postStatus({ ...cb, change_id: 'ref_x:2', status: 'refunded', refund_id: 'ref_x', occurred_at: now })).status).toBe(409);
    });

    it('notes a refund made outside Vendure once the Refund could have been saved, instead of holding the order back', async () => {
        const { code, paymentId } = await checkout('outside@example.se');
        const old = new Date(Date.now() - 10 * 60_000).toISOString();
        const cb = {
            change_id: 'ref_out:1', payment_id: paymentId, status: 'refund-failed', refund_id: 'ref_out',
            amount_minor: 500, currency: 'SEK', message: 'the account is closed', occurred_at: old,
        };
        expect(await postStatus(cb)).toMatchObject({ status: 200, body: { outcome: 'noted' } });
        expect(await postStatus(cb)).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
        const order = await adminOrder(code);
        const notes = order.history.items.filter(h => h.type === 'ORDER_NOTE' && String(h.data.note).includes('ref_out'));
        expect(notes).toHaveLength(1);
        expect(String(notes[0].data.note)).toContain('failed');
        expect(String(notes[0].data.note)).toContain('the account is closed');
        expect(order.payments[0].state).toBe('Created');
    });

    it('does not settle an amount other than the payment, and notes it once', async () => {
        const { code, paymentId, total } = await checkout('amount@example.se');
        const cb = { change_id: `${paymentId}:50`, payment_id: paymentId, status: 'paid', amount_minor: total - 100, currency: 'SEK' };
        expect(await postStatus(cb)).toMatchObject({ status: 200, body: { outcome: 'noted' } });
        expect(await postStatus(cb)).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
        const order = await adminOrder(code);
        expect(order.payments[0].state).toBe('Created');
        expect(order.state).toBe('ArrangingPayment');
        const notes = order.history.items.filter(h => h.type === 'ORDER_NOTE' && String(h.data.note).includes('not settled'));
        expect(notes).toHaveLength(1);
        // Another currency is no better.
        const eur = { ...cb, change_id: `${paymentId}:51`, amount_minor: total, currency: 'EUR' };
        expect(await postStatus(eur)).toMatchObject({ status: 200, body: { outcome: 'noted' } });
        expect((await adminOrder(code)).payments[0].state).toBe('Created');
    });
});
