export const loggerCtx = 'TrustlyPlugin';
