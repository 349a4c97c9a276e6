import { PluginCommonModule, Type, VendurePlugin } from '@vendure/core';

import { shopSchema, TrustlyShopResolver } from './api';
import { PLUGIN_OPTIONS, TrustlyPluginOptions } from './options';
import { rawBodyMiddleware, STATUS_ROUTE, TrustlyController } from './trustly.controller';
import { trustlyPaymentHandler } from './trustly.handler';
import { trustlyPaymentProcess, trustlyRefundProcess } from './trustly.process';
import { TrustlyService } from './trustly.service';

/**
 * Trustly bank payments through trustly-sidecar. See README.md:
 *
 *   plugins: [TrustlyPlugin.init({ sidecarUrl, shopApiToken, secret, ... })]
 */
@VendurePlugin({
    imports: [PluginCommonModule],
    controllers: [TrustlyController],
    providers: [TrustlyService, { provide: PLUGIN_OPTIONS, useFactory: () => TrustlyPlugin.options }],
    shopApiExtensions: { schema: shopSchema, resolvers: [TrustlyShopResolver] },
    configuration: config => {
        config.paymentOptions.paymentMethodHandlers.push(trustlyPaymentHandler);
        config.paymentOptions.process = [...(config.paymentOptions.process ?? []), trustlyPaymentProcess];
        config.paymentOptions.refundProcess = [...(config.paymentOptions.refundProcess ?? []), trustlyRefundProcess];
        config.apiOptions.middleware.push({ route: STATUS_ROUTE, handler: rawBodyMiddleware, beforeListen: true });
        return config;
    },
    compatibility: '^3.0.0',
})
export class TrustlyPlugin {
    static options: TrustlyPluginOptions;

    static init(options: TrustlyPluginOptions): Type<TrustlyPlugin> {
        if (options.secret.length < 16) {
            throw new Error('TrustlyPlugin: secret needs at least 16 characters (TRUSTLY_VENDURE_SECRET)');
        }
        if (options.shopApiToken.length < 16) {
            throw new Error('TrustlyPlugin: shopApiToken needs at least 16 characters (TRUSTLY_SIDECAR_SHOP_API_TOKEN)');
        }
        this.options = options;
        return TrustlyPlugin;
    }
}
