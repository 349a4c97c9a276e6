<?php
/**
 * The sidecar's shop API, as the plugin calls it.
 *
 * @package TrustlySidecar
 */

defined( 'ABSPATH' ) || exit;

/**
 * A small client of the sidecar's shop API (sidecar/internal/httpapi/openapi.json):
 * JSON over HTTP with a bearer token. Money goes out in minor units.
 */
class Trustly_Sidecar_Client {

	/** @var string Base URL of the sidecar's private listener, no trailing slash. */
	private $base;

	/** @var string The shop API token; never logged or shown. */
	private $token;

	/**
	 * @param string $base  Sidecar URL, e.g. http://127.0.0.1:8081.
	 * @param string $token Shop API token (TRUSTLY_SIDECAR_SHOP_API_TOKEN).
	 */
	public function __construct( $base, $token ) {
		$this->base  = rtrim( (string) $base, '/' );
		$this->token = (string) $token;
	}

	/**
	 * POSTs JSON and returns [status, decoded body] or a WP_Error when the
	 * sidecar could not be reached.
	 *
	 * @param string $path            e.g. /v1/payments.
	 * @param array  $body            The request.
	 * @param string $idempotency_key Makes a retried call the same call.
	 * @return array|WP_Error
	 */
	public function post( $path, array $body, $idempotency_key ) {
		return $this->request( 'POST', $path, wp_json_encode( $body ), array( 'Idempotency-Key' => $idempotency_key ) );
	}

	/**
	 * GETs a path; see post.
	 *
	 * @param string $path e.g. /readyz.
	 * @return array|WP_Error
	 */
	public function get( $path ) {
		return $this->request( 'GET', $path, null, array() );
	}

	/**
	 * @param string      $method  HTTP method.
	 * @param string      $path    Below the base URL.
	 * @param string|null $body    JSON.
	 * @param array       $headers Extra headers.
	 * @return array|WP_Error
	 */
	private function request( $method, $path, $body, array $headers ) {
		$headers['Accept'] = 'application/json';
		if ( null !== $body ) {
			$headers['Content-Type'] = 'application/json';
		}
		if ( '' !== $this->token ) {
			$headers['Authorization'] = 'Bearer ' . $this->token;
		}
		$args = array(
			'method'  => $method,
			'headers' => $headers,
			'timeout' => 20,
		);
		if ( null !== $body ) {
			$args['body'] = $body;
		}
		$resp = wp_remote_request( $this->base . $path, $args );
		if ( is_wp_error( $resp ) ) {
			return $resp;
		}
		$decoded = json_decode( (string) wp_remote_retrieve_body( $resp ), true );
		return array( (int) wp_remote_retrieve_response_code( $resp ), is_array( $decoded ) ? $decoded : array() );
	}

	/**
	 * Turns a decimal amount ("103.50", as WooCommerce stores it) into
	 * minor units (10350) with string arithmetic: no float ever holds money.
	 *
	 * @param string|int|float $amount   The amount; a float is first formatted by WooCommerce.
	 * @param int              $decimals The currency's minor-unit digits.
	 * @return int|null Null when the amount is not a plain non-negative decimal or needs rounding.
	 */
	public static function to_minor( $amount, $decimals ) {
		$s = trim( (string) $amount );
		if ( ! preg_match( '/^([0-9]{1,15})(?:\.([0-9]{1,8}))?$/', $s, $m ) ) {
			return null;
		}
		$frac = isset( $m[2] ) ? $m[2] : '';
		if ( strlen( $frac ) > $decimals ) {
			if ( '' !== trim( substr( $frac, $decimals ), '0' ) ) {
				return null;
			}
			$frac = substr( $frac, 0, $decimals );
		}
		$frac = str_pad( $frac, $decimals, '0' );
		return (int) ltrim( $m[1] . $frac, '0' );
	}
}
