import { Controller, Inject, Post, Req, Res } from '@nestjs/common';
import { Logger, RequestContextService } from '@vendure/core';
import type { Request, Response } from 'express';

import { loggerCtx } from './constants';
import { PLUGIN_OPTIONS, TrustlyPluginOptions } from './options';
import { verify } from './signature';
import { ApplyError, StatusCallback, TrustlyService } from './trustly.service';

/** The route the sidecar's Vendure adapter posts to: TRUSTLY_VENDURE_CALLBACK_URL. */
export const STATUS_ROUTE = '/trustly/status';

/** A request whose raw body the plugin's middleware kept (rawBodyMiddleware). */
export type RawBodyRequest = Request & { rawBody?: Buffer };

@Controller('trustly')
export class TrustlyController {
    constructor(
        @Inject(PLUGIN_OPTIONS) private readonly options: TrustlyPluginOptions,
        private readonly service: TrustlyService,
        private readonly requestContextService: RequestContextService,
    ) {}

    /**
     * Answers in the adapter's terms (platforms/vendure/callback.go): 2xx
     * done, 401/400/404/422 permanent, 409 and 5xx retried.
     */
    @Post('status')
    async status(@Req() req: RawBodyRequest, @Res() res: Response): Promise<void> {
        const body = req.rawBody;
        if (!body) {
            res.status(500).json({ error: 'raw body not kept: is the plugin registered?' });
            return;
        }
        const why = verify(this.options.secret, 'callback', req.headers, body, Math.floor(Date.now() / 1000));
        if (why) {
            Logger.warn(`status callback refused: ${why}`, loggerCtx);
            res.status(401).json({ error: why });
            return;
        }
        let cb: StatusCallback;
        try {
            cb = JSON.parse(body.toString('utf8')) as StatusCallback;
        } catch {
            res.status(400).json({ error: 'body is not JSON' });
            return;
        }
        if (
            typeof cb.change_id !== 'string' ||
            typeof cb.payment_id !== 'string' ||
            typeof cb.status !== 'string' ||
            !Number.isSafeInteger(cb.amount_minor) ||
            req.headers['idempotency-key'] !== cb.change_id
        ) {
            res.status(400).json({ error: 'not a status callback' });
            return;
        }
        try {
            // The sidecar is a system, not a shopper: an admin-API context in
            // the default channel, like Vendure's own payment webhooks.
            const ctx = await this.requestContextService.create({ apiType: 'admin' });
            const applied = await this.service.applyChange(ctx, cb);
            Logger.info(`change ${cb.change_id} (${cb.status}): ${applied.outcome}, ${applied.detail}`, loggerCtx);
            res.status(200).json(applied);
        } catch (e) {
            const status = e instanceof ApplyError ? e.status : 500;
            const message = e instanceof Error ? e.message : String(e);
            // 500 covers a database hiccup or a lost race with another
            // write to the order: the adapter retries and the state checks
            // make the retry harmless.
            Logger.warn(`change ${cb.change_id} (${cb.status}) not applied: ${status} ${message}`, loggerCtx);
            res.status(status).json({ error: message });
        }
    }
}

/**
 * Keeps the exact bytes of the callback for the signature check, which
 * must run over the body as sent, not over re-serialised JSON. It marks the
 * body as parsed so Nest's JSON parser leaves the stream alone.
 */
export function rawBodyMiddleware(req: RawBodyRequest & { _body?: boolean }, _res: Response, next: (err?: unknown) => void) {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 64 * 1024) {
            // Callbacks are a few hundred bytes; anything large is not one.
            req.destroy();
            return;
        }
        chunks.push(c);
    });
    req.on('end', () => {
        req.rawBody = Buffer.concat(chunks);
        req._body = true;
        next();
    });
    req.on('error', next);
}
