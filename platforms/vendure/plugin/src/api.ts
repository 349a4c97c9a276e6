import { Mutation, Resolver } from '@nestjs/graphql';
import { Allow, Ctx, Permission, RequestContext, Transaction } from '@vendure/core';
import gql from 'graphql-tag';

import { TrustlyService } from './trustly.service';

export const shopSchema = gql`
    type TrustlyPaymentIntent {
        "Send the shopper here: Trustly's checkout. It expires within minutes."
        url: String!
        "The sidecar's payment id (the Vendure Payment's transactionId)."
        paymentId: String!
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
    createTrustlyPaymentIntent(@Ctx() ctx: RequestContext): Promise<{ url: string; paymentId: string }> {
        return this.service.startPaymentForActiveOrder(ctx);
    }
}
