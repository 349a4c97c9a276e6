export { TrustlyPlugin } from './trustly.plugin';
export { trustlyPaymentHandler } from './trustly.handler';
export type { TrustlyPluginOptions } from './options';
export { sign, verify } from './signature';
export { SidecarClient, SidecarError } from './sidecar-client';
