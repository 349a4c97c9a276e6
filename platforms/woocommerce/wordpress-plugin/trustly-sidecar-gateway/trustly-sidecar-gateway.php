<?php
/**
 * Plugin Name: Trustly (trustly-sidecar)
 * Description: Pay by bank with Trustly through the trustly-sidecar running beside WordPress. The sidecar does the payment work; this plugin only asks it and redirects.
 * Version: 0.1.0
 * Requires at least: 6.4
 * Requires PHP: 8.1
 * Requires Plugins: woocommerce
 * WC requires at least: 8.0
 * License: Apache-2.0
 * Text Domain: trustly-sidecar
 *
 * @package TrustlySidecar
 */

defined( 'ABSPATH' ) || exit;

define( 'TRUSTLY_SIDECAR_VERSION', '0.1.0' );

require_once __DIR__ . '/includes/class-trustly-sidecar-client.php';

/**
 * Registers the gateway once WooCommerce has loaded its base class.
 */
function trustly_sidecar_init() {
	if ( ! class_exists( 'WC_Payment_Gateway' ) ) {
		return;
	}
	require_once __DIR__ . '/includes/class-wc-gateway-trustly-sidecar.php';
	add_filter(
		'woocommerce_payment_gateways',
		function ( $gateways ) {
			$gateways[] = 'WC_Gateway_Trustly_Sidecar';
			return $gateways;
		}
	);
	// WooCommerce Subscriptions calls this hook for each renewal that is
	// due; the gateway object must exist for it to be heard.
	add_action(
		'woocommerce_scheduled_subscription_payment_' . WC_Gateway_Trustly_Sidecar::ID,
		function ( $amount, $renewal_order ) {
			$gateway = new WC_Gateway_Trustly_Sidecar();
			$gateway->scheduled_subscription_payment( $amount, $renewal_order );
		},
		10,
		2
	);
}
add_action( 'plugins_loaded', 'trustly_sidecar_init', 11 );
