<?php
/**
 * Runs the plugin against a running sidecar, for the Go end-to-end test
 * (sidecar/woocommerce_test.go): the WordPress/WooCommerce stand-ins of
 * bootstrap.php, but real HTTP.
 *
 *   php live.php SIDECAR_URL TOKEN pay ORDER_ID TOTAL [subscription]
 *   php live.php SIDECAR_URL TOKEN renew ORDER_ID TOTAL
 *   php live.php SIDECAR_URL TOKEN refund ORDER_ID TOTAL PAYMENT_ID AMOUNT [manual]
 *
 * refund runs wc_create_refund's stand-in: the "Refund via Trustly" button,
 * or "Refund manually" with manual; it prints the refund's id and stamp.
 *
 * Prints what the gateway returned, as JSON, and the order's meta.
 *
 * @package TrustlySidecar
 */

require __DIR__ . '/bootstrap.php';

list( , $url, $token, $cmd, $id, $total ) = $argv;
$GLOBALS['tsc_live']                  = true;
WC_Payment_Gateway::$saved['trustly'] = array(
	'sidecar_url'       => $url,
	'api_token'         => $token,
	'shopper_statement' => 'Kaffebutiken',
);
$order                            = new WC_Order( array( 'id' => (int) $id, 'total' => $total, 'currency' => 'SEK', 'customer_id' => 7 ) );
$GLOBALS['tsc_orders'][ (int) $id ] = $order;
if ( 'pay' === $cmd && 'subscription' === ( $argv[6] ?? '' ) ) {
	$GLOBALS['tsc_subscription_orders'] = array( (int) $id );
}

$gateway = new WC_Gateway_Trustly_Sidecar();
switch ( $cmd ) {
	case 'pay':
		$result = $gateway->process_payment( (int) $id );
		break;
	case 'renew':
		$gateway->scheduled_subscription_payment( $total, $order );
		$result = array( 'status_changes' => $order->status_changes );
		break;
	case 'refund':
		$order->meta['_trustly_payment_id'] = $argv[6];
		$refund = wc_create_refund( array( 'amount' => $argv[7], 'reason' => 'damaged', 'order_id' => (int) $id, 'refund_payment' => 'manual' !== ( $argv[8] ?? '' ) ) );
		$result = is_wp_error( $refund ) ? array( 'error' => $refund->get_error_message() ) : array( 'id' => $refund->get_id(), 'by' => $refund->get_meta( 'trustly_refund_by' ) );
		$result['notes'] = $order->notes;
		break;
	default:
		fwrite( STDERR, "unknown command $cmd\n" );
		exit( 2 );
}
echo json_encode(
	array(
		'result'  => $result,
		'meta'    => $order->meta,
		'notices' => $GLOBALS['tsc_notices'],
	)
), "\n";
