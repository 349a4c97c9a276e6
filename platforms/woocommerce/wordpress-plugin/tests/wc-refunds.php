<?php
/**
 * A stand-in for WooCommerce's wc_create_refund, in the order the real one
 * does things (woocommerce/woocommerce, plugins/woocommerce/includes/
 * wc-order-functions.php): build the refund, fire woocommerce_create_refund,
 * save it (it gets its id), then, when refund_payment is set, call the
 * gateway's process_refund and delete the refund again if that fails, else
 * mark it refunded_payment. An order set to Refunded runs it from the
 * woocommerce_order_status_refunded action (wc_order_fully_refunded).
 *
 * @package TrustlySidecar
 */

$GLOBALS['tsc_actions']   = array(); // the actions running now, innermost last
$GLOBALS['tsc_refund_id'] = 2000;

function doing_action( $hook ) { return in_array( $hook, $GLOBALS['tsc_actions'], true ); }

/**
 * @param array $args amount (decimal string), reason, order_id, refund_payment.
 * @return WC_Order_Refund|WP_Error
 */
function wc_create_refund( $args ) {
	$order  = wc_get_order( $args['order_id'] );
	$refund = new WC_Order_Refund();
	$refund->data = array( 'parent_id' => $args['order_id'], 'amount' => $args['amount'], 'reason' => $args['reason'] ?? '' );
	do_action( 'woocommerce_create_refund', $refund, $args );
	$refund->set_id( ++$GLOBALS['tsc_refund_id'] ); // saved
	if ( ! empty( $args['refund_payment'] ) ) {
		$gateway = new WC_Gateway_Trustly_Sidecar();
		$gateway->retry_wait = 0;
		$result  = $gateway->supports( 'refunds' ) ? $gateway->process_refund( $order->get_id(), $refund->get_amount(), $refund->get_reason() )
			: new WP_Error( 'error', 'The payment gateway for this order does not support automatic refunds.' );
		if ( is_wp_error( $result ) || ! $result ) {
			return is_wp_error( $result ) ? $result : new WP_Error( 'error', 'An error occurred while attempting to create the refund using the payment gateway API.' );
		}
		$refund->data['refunded_payment'] = true;
	}
	$order->refunds[] = $refund;
	return $refund;
}

/** An admin sets the order's status to Refunded: WooCommerce records the rest as refunded. */
function tsc_set_status_refunded( $order, $rest ) {
	$GLOBALS['tsc_actions'][] = 'woocommerce_order_status_refunded';
	try {
		return wc_create_refund( array( 'amount' => $rest, 'reason' => 'Order fully refunded.', 'order_id' => $order->get_id() ) );
	} finally {
		array_pop( $GLOBALS['tsc_actions'] );
	}
}
