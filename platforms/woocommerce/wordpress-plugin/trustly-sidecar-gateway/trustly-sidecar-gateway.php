<?php
/**
 * Plugin Name: Trustly (trustly-sidecar)
 * Description: Pay by bank with Trustly through the trustly-sidecar running beside WordPress. The sidecar does the payment work; this plugin only asks it and redirects.
 * Version: 0.1.0
 * Requires at least: 6.1
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
	// Every refund of a Trustly order is stamped with who moves its money
	// before WooCommerce saves it (see stamp_refund).
	add_action( 'woocommerce_create_refund', array( 'WC_Gateway_Trustly_Sidecar', 'stamp_refund' ), 10, 2 );
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

/**
 * The sidecar's URL as saved in the gateway's settings, parsed; null when unset.
 *
 * @return array|null
 */
function trustly_sidecar_url_parts() {
	$settings = get_option( 'woocommerce_trustly_settings', array() );
	$parts    = wp_parse_url( is_array( $settings ) && isset( $settings['sidecar_url'] ) ? (string) $settings['sidecar_url'] : '' );
	return is_array( $parts ) && ! empty( $parts['host'] ) ? $parts : null;
}

/**
 * WooCommerce delivers webhooks with wp_safe_remote_request, which refuses
 * hosts on loopback or private networks, where the sidecar runs beside
 * WordPress (wp_http_validate_url). Only the configured sidecar's host is let
 * through, nothing else.
 *
 * @param bool   $external Whether WordPress treats the host as external.
 * @param string $host     The request's host.
 * @return bool
 */
function trustly_sidecar_host_is_external( $external, $host ) {
	$parts = trustly_sidecar_url_parts();
	return ( $parts && strtolower( (string) $host ) === strtolower( $parts['host'] ) ) ? true : $external;
}
add_filter( 'http_request_host_is_external', 'trustly_sidecar_host_is_external', 10, 2 );

/**
 * The same for the port: wp_safe_remote_request allows 80, 443 and 8080
 * only; the sidecar's own port is added, for the sidecar's host only.
 *
 * @param int[]  $ports Allowed ports.
 * @param string $host  The request's host.
 * @return int[]
 */
function trustly_sidecar_safe_ports( $ports, $host = '' ) {
	$parts = trustly_sidecar_url_parts();
	if ( $parts && ! empty( $parts['port'] ) && strtolower( (string) $host ) === strtolower( $parts['host'] ) ) {
		$ports[] = (int) $parts['port'];
	}
	return $ports;
}
add_filter( 'http_allowed_safe_ports', 'trustly_sidecar_safe_ports', 10, 2 );
