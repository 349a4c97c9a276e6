import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        // One Vendure server, one sidecar: the files share nothing, but the
        // machine is small.
        fileParallelism: false,
        testTimeout: 60_000,
        hookTimeout: 180_000,
    },
});
