// The real trustly-sidecar binary, as the simulator and as serve, started
// as child processes over real sockets. Nothing here is mocked.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../../../..');

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const port = (s.address() as { port: number }).port;
            s.close(() => resolve(port));
        });
    });
}

export interface Stack {
    sidecarUrl: string; // private listener: the shop API
    simUrl: string;
    shopApiToken: string;
    secret: string;
    log: () => string; // everything both processes wrote
    stop: () => Promise<void>;
}

/**
 * startStack builds the binary (unless TRUSTLY_TEST_SIDECAR_BIN names one),
 * starts the simulator and serve with the Vendure adapter posting to
 * callbackUrl.
 */
export async function startStack(callbackUrl: string): Promise<Stack> {
    const dir = mkdtempSync(path.join(tmpdir(), 'vendure-e2e-'));
    let bin = process.env.TRUSTLY_TEST_SIDECAR_BIN;
    if (!bin) {
        bin = path.join(dir, 'trustly-sidecar');
        execFileSync('go', ['build', '-o', bin, './sidecar'], { cwd: repoRoot, stdio: 'inherit' });
    }
    execFileSync(bin, ['keygen', '--out-dir', path.join(dir, 'keys')]);
    let output = '';
    const procs: ChildProcess[] = [];
    const run = (args: string[], env: Record<string, string>) => {
        const p = spawn(bin!, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        p.stdout!.on('data', d => (output += d));
        p.stderr!.on('data', d => (output += d));
        procs.push(p);
        // Never outlive the test run, even when it dies before afterAll.
        process.once('exit', () => p.kill('SIGKILL'));
        return p;
    };

    run(
        [
            'sim',
            '--addr', '127.0.0.1:0',
            '--relaxed',
            '--keys-dir', path.join(dir, 'keys/sim'),
            '--merchant-public-key', path.join(dir, 'keys/merchant_public.pem'),
            '--settlement-delay', '1s',
        ],
        {},
    );
    const simUrl = await waitFor(() => /API URL:\s+(\S+)\/api\/1/.exec(output)?.[1], 'the simulator to listen', () => output);

    const [pub, priv] = [await freePort(), await freePort()];
    const shopApiToken = 'shop-api-token-' + Math.random().toString(36).slice(2);
    const secret = 'vendure-secret-' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
    run(['serve'], {
        TRUSTLY_SIDECAR_ENVIRONMENT: 'SIM',
        TRUSTLY_SIDECAR_TRUSTLY_URL: simUrl + '/api/1',
        TRUSTLY_SIDECAR_TRUSTLY_PUBLIC_KEY_FILE: path.join(dir, 'keys/sim/trustly_sim_public.pem'),
        TRUSTLY_SIDECAR_TRUSTLY_USERNAME: 'merchant',
        TRUSTLY_SIDECAR_TRUSTLY_PASSWORD: 'sim-password',
        TRUSTLY_SIDECAR_MERCHANT_PRIVATE_KEY_FILE: path.join(dir, 'keys/merchant_private.pem'),
        TRUSTLY_SIDECAR_PUBLIC_ADDR: `127.0.0.1:${pub}`,
        TRUSTLY_SIDECAR_PUBLIC_BASE_URL: `http://127.0.0.1:${pub}`,
        TRUSTLY_SIDECAR_NOTIFICATION_SECRET: 'notification-secret-0123456789',
        TRUSTLY_SIDECAR_PRIVATE_ADDR: `127.0.0.1:${priv}`,
        TRUSTLY_SIDECAR_SHOP_API_TOKEN: shopApiToken,
        TRUSTLY_SIDECAR_REDIS_MODE: 'embedded',
        TRUSTLY_SIDECAR_LOG_FORMAT: 'text',
        TRUSTLY_SIDECAR_ENGINE_TICK: '2s',
        TRUSTLY_SIDECAR_ADAPTER: 'vendure',
        TRUSTLY_SIDECAR_ADAPTER_ENV: 'TRUSTLY_VENDURE_CALLBACK_URL,TRUSTLY_VENDURE_SECRET',
        TRUSTLY_VENDURE_CALLBACK_URL: callbackUrl,
        TRUSTLY_VENDURE_SECRET: secret,
    });
    const sidecarUrl = `http://127.0.0.1:${priv}`;
    await waitFor(
        async () => {
            try {
                return (await fetch(sidecarUrl + '/readyz')).ok || undefined;
            } catch {
                return undefined;
            }
        },
        'the sidecar to be ready',
        () => output,
    );
    return {
        sidecarUrl,
        simUrl,
        shopApiToken,
        secret,
        log: () => output,
        stop: async () => {
            await Promise.all(
                procs.map(
                    p =>
                        new Promise<void>(resolve => {
                            if (p.exitCode !== null) return resolve();
                            p.once('exit', () => resolve());
                            p.kill('SIGTERM');
                        }),
                ),
            );
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** waitFor polls f until it returns a value, for at most ms. */
export async function waitFor<T>(
    f: () => T | undefined | Promise<T | undefined>,
    what: string,
    context: () => string = () => '',
    ms = 30_000,
): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
        const v = await f();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${context().slice(-4000)}`);
        await new Promise(r => setTimeout(r, 100));
    }
}
