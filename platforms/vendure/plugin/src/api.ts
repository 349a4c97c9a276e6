import { Mutation, Resolver } from '@nestjs/graphql';
import { Allow, Ctx, Permission, RequestContext, Transaction } from '@vendure/core';
import gql from 'graphql-tag';

import { PaymentIntent, TrustlyService } from './trustly.service';

export const shopSchema = gql`
    type TrustlyPaymentIntent {
        "Send the shopper here: Trustly's checkout. It expires within minutes. Null when errorMessage is set."
        url: String
        "The sidecar's payment id (the Vendure Payment's transactionId)."
        paymentId: String
        "Why no payment was started, for the shopper; the order stays payable."
        errorMessage: String
    }
    extend type Mutation {
        "Starts a Trustly payment for the active order, which must be in ArrangingPayment."
        createTrustlyPaymentIntent: TrustlyPaymentIntent!
    }
`;

@Resolver()
export class TrustlyShopResolver {
    constructor(private readonly service: TrustlyService) {}

    @Mutation()
    @Transaction()
    @Allow(Permission.Owner)
    createTrustlyPaymentIntent(@Ctx() ctx: RequestContext): Promise<PaymentIntent> {
        return this.service.startPaymentForActiveOrder(ctx);
    }
}
