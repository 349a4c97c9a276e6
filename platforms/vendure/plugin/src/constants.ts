export const loggerCtx = 'TrustlyPlugin';

/**
 * How long a refund's outcome may wait for Vendure to save the Refund it
 * belongs to (Vendure saves it after the sidecar answered createRefund, so
 * the outcome can overtake it). Past this, a refund no Vendure Refund
 * names was made outside Vendure: it is noted on the order instead of
 * holding the order's later changes back in the sidecar for good.
 */
export const REFUND_OVERTAKE_WINDOW_MS = 5 * 60_000;
