<?php
/**
 * Runs the plugin against a running sidecar, for the Go end-to-end test
 * (sidecar/woocommerce_test.go): the WordPress/WooCommerce stand-ins of
 * bootstrap.php, but real HTTP.
 *
 *   php live.php SIDECAR_URL TOKEN pay ORDER_ID TOTAL [subscription]
 *   php live.php SIDECAR_URL TOKEN renew ORDER_ID TOTAL
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
if ( 'subscription' === ( $argv[6] ?? '' ) ) {
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
