import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { HEADER_SIGNATURE, HEADER_TIMESTAMP, sign, verify } from '../src/signature';

// The vector the Go adapter's test checks too (platforms/vendure/testdata):
// the two implementations of the scheme cannot drift apart.
const vector = JSON.parse(readFileSync(path.join(__dirname, '../../testdata/signature-vector.json'), 'utf8')) as {
    secret: string;
    direction: 'callback';
    timestamp: number;
    body: string;
    signature: string;
};
const body = Buffer.from(vector.body);
const headers = (sig: string, ts = vector.timestamp) => ({ [HEADER_SIGNATURE]: sig, [HEADER_TIMESTAMP]: String(ts) });

describe('signature', () => {
    it('matches the Go adapter', () => {
        expect(sign(vector.secret, vector.direction, vector.timestamp, body)).toBe(vector.signature);
        expect(verify(vector.secret, 'callback', headers(vector.signature), body, vector.timestamp + 10)).toBeUndefined();
    });

    it.each([
        ['another secret', () => verify('another-secret-0123456789', 'callback', headers(vector.signature), body, vector.timestamp)],
        ['the other direction (a reflected request)', () => verify(vector.secret, 'webhook', headers(vector.signature), body, vector.timestamp)],
        ['a changed body', () => verify(vector.secret, 'callback', headers(vector.signature), Buffer.from(vector.body + ' '), vector.timestamp)],
        ['a rewritten timestamp', () => verify(vector.secret, 'callback', headers(vector.signature, vector.timestamp + 1), body, vector.timestamp)],
        ['too old', () => verify(vector.secret, 'callback', headers(vector.signature), body, vector.timestamp + 301)],
        ['from the future', () => verify(vector.secret, 'callback', headers(vector.signature), body, vector.timestamp - 301)],
        ['a short signature', () => verify(vector.secret, 'callback', headers(vector.signature.slice(0, 20)), body, vector.timestamp)],
        ['no prefix', () => verify(vector.secret, 'callback', headers(vector.signature.slice(7)), body, vector.timestamp)],
        ['unsigned', () => verify(vector.secret, 'callback', {}, body, vector.timestamp)],
    ])('refuses %s', (_name, f) => {
        expect(f()).toBeTypeOf('string');
    });
});
