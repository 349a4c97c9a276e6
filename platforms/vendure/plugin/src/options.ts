import { Order } from '@vendure/core';

export interface TrustlyPluginOptions {
    /** The sidecar's private listener, e.g. http://127.0.0.1:8081 */
    sidecarUrl: string;
    /** TRUSTLY_SIDECAR_SHOP_API_TOKEN: sent as a bearer token on every shop API call. */
    shopApiToken: string;
    /** TRUSTLY_VENDURE_SECRET: shared with the sidecar's Vendure adapter; verifies status callbacks. */
    secret: string;
    /** Where the shopper returns after paying / after a cancelled payment. */
    successUrl: (order: Order) => string;
    failUrl: (order: Order) => string;
    /** Text on the shopper's bank statement, e.g. the shop's name. */
    shopperStatement: string;
    /** Trustly checkout locale (xx_YY) and the country used when the order has no address. */
    locale?: string;
    defaultCountry?: string;
    /** How long a call to the sidecar may take; a Deposit waits on Trustly. Default 30 s. */
    timeoutMs?: number;
}

export const PLUGIN_OPTIONS = Symbol('TRUSTLY_PLUGIN_OPTIONS');
