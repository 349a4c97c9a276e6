import { createHmac, timingSafeEqual } from 'node:crypto';

// The scheme shared with the Go adapter (platforms/vendure/signature.go):
//   Trustly-Sidecar-Timestamp: <unix seconds>
//   Trustly-Sidecar-Signature: sha256=<hex HMAC-SHA256(secret, direction + "." + timestamp + "." + raw body)>
// The direction is inside the MAC so a callback cannot be reflected back
// to the sidecar as a webhook; the timestamp is inside it so the replay
// window cannot be moved by rewriting a header.
export const HEADER_SIGNATURE = 'trustly-sidecar-signature';
export const HEADER_TIMESTAMP = 'trustly-sidecar-timestamp';
export type Direction = 'callback' | 'webhook';
export const DEFAULT_TOLERANCE_SECONDS = 300;

function mac(secret: string, direction: Direction, timestamp: string, body: Buffer): Buffer {
    return createHmac('sha256', secret).update(`${direction}.${timestamp}.`).update(body).digest();
}

export function sign(secret: string, direction: Direction, unixSeconds: number, body: Buffer): string {
    return 'sha256=' + mac(secret, direction, String(unixSeconds), body).toString('hex');
}

/**
 * verify returns undefined when the request is authentic, else why not (for
 * the log and the 401 body; never the expected signature).
 */
export function verify(
    secret: string,
    direction: Direction,
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
    nowSeconds: number,
    toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): string | undefined {
    const sig = one(headers[HEADER_SIGNATURE]);
    const ts = one(headers[HEADER_TIMESTAMP]);
    if (!sig || !ts) {
        return 'unsigned';
    }
    if (!sig.startsWith('sha256=') || !/^[0-9a-f]{64}$/i.test(sig.slice(7))) {
        return 'signature is not sha256=<hex>';
    }
    const got = Buffer.from(sig.slice(7), 'hex');
    // Constant time: the comparison must not tell a forger how many leading
    // bytes were right. Both are 32 bytes here (checked above).
    if (!timingSafeEqual(got, mac(secret, direction, ts, body))) {
        return 'signature does not match the body';
    }
    const sent = Number(ts);
    if (!/^\d+$/.test(ts) || Math.abs(nowSeconds - sent) > toleranceSeconds) {
        return 'timestamp outside the replay window';
    }
    return undefined;
}

function one(v: string | string[] | undefined): string | undefined {
    return Array.isArray(v) ? v[0] : v;
}
