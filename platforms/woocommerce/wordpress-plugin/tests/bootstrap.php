<?php
/**
 * Small stand-ins for the WordPress and WooCommerce functions the plugin
 * calls. WooCommerce cannot be installed from the registries this project
 * builds with, so these follow the documented signatures
 * (developer.wordpress.org, woocommerce.github.io/code-reference) and record
 * what the plugin did. They are not WooCommerce.
 *
 * @package TrustlySidecar
 */

define( 'ABSPATH', __DIR__ . '/' );

$GLOBALS['tsc_hooks']    = array();
$GLOBALS['tsc_notices']  = array();
$GLOBALS['tsc_requests'] = array();
$GLOBALS['tsc_answers']  = array(); // queue of wp_remote_request answers
$GLOBALS['tsc_orders']   = array();
$GLOBALS['tsc_locale']   = 'sv_SE';
$GLOBALS['tsc_subscription_orders'] = array();

function __( $text, $domain = 'default' ) { return $text; }
function esc_html( $s ) { return htmlspecialchars( (string) $s, ENT_QUOTES ); }
function esc_attr( $s ) { return htmlspecialchars( (string) $s, ENT_QUOTES ); }
function wp_json_encode( $v ) { return json_encode( $v ); }
function get_locale() { return $GLOBALS['tsc_locale']; }
function add_action( $hook, $cb, $prio = 10, $args = 1 ) { $GLOBALS['tsc_hooks'][ $hook ][] = $cb; }
function add_filter( $hook, $cb, $prio = 10, $args = 1 ) { $GLOBALS['tsc_hooks'][ $hook ][] = $cb; }
function do_action( $hook, ...$args ) { foreach ( $GLOBALS['tsc_hooks'][ $hook ] ?? array() as $cb ) { $cb( ...$args ); } }
function get_option( $name, $default = false ) { return 'woocommerce_trustly_settings' === $name ? ( WC_Payment_Gateway::$saved['trustly'] ?? $default ) : $default; }
function wp_parse_url( $url ) { return parse_url( $url ); }
function apply_filters( $hook, $value, ...$args ) { foreach ( $GLOBALS['tsc_hooks'][ $hook ] ?? array() as $cb ) { $value = $cb( $value, ...$args ); } return $value; }
function wc_add_notice( $message, $type ) { $GLOBALS['tsc_notices'][] = array( $type, $message ); }
function wc_get_price_decimals() { return 2; }
function wc_get_order( $id ) { return $GLOBALS['tsc_orders'][ $id ] ?? false; }
function wcs_order_contains_subscription( $order ) { return in_array( $order->get_id(), $GLOBALS['tsc_subscription_orders'], true ); }

/** WooCommerce's wc_format_decimal, for the inputs the plugin passes: a float or a string, to $dp places. */
function wc_format_decimal( $number, $dp = false ) {
	if ( is_float( $number ) ) {
		$number = number_format( $number, 8, '.', '' ); // as WooCommerce does before trimming
	}
	$number = (string) $number;
	if ( false !== $dp ) {
		$number = number_format( (float) $number, $dp, '.', '' );
	}
	return $number;
}

class WP_Error {
	private $code;
	private $message;
	public function __construct( $code = '', $message = '' ) { $this->code = $code; $this->message = $message; }
	public function get_error_message() { return $this->message; }
	public function get_error_code() { return $this->code; }
}
function is_wp_error( $v ) { return $v instanceof WP_Error; }

/**
 * Records the request; answers with the next queued answer: [status, array
 * body] or a WP_Error. With $GLOBALS['tsc_live'] set (live.php) it sends the
 * request over HTTP instead, as WordPress would.
 */
function wp_remote_request( $url, $args ) {
	$GLOBALS['tsc_requests'][] = array( 'url' => $url, 'args' => $args );
	if ( ! empty( $GLOBALS['tsc_live'] ) ) {
		return tsc_http( $url, $args );
	}
	$next = array_shift( $GLOBALS['tsc_answers'] );
	if ( null === $next ) {
		return new WP_Error( 'http_request_failed', 'cURL error 7: Failed to connect' );
	}
	if ( $next instanceof WP_Error ) {
		return $next;
	}
	return array( 'response' => array( 'code' => $next[0] ), 'body' => json_encode( $next[1] ) );
}

/** Sends a request for real (live.php). */
function tsc_http( $url, $args ) {
	$headers = '';
	foreach ( $args['headers'] as $k => $v ) {
		$headers .= $k . ': ' . $v . "\r\n";
	}
	$ctx  = stream_context_create(
		array(
			'http' => array(
				'method'        => $args['method'],
				'header'        => $headers,
				'content'       => $args['body'] ?? '',
				'timeout'       => $args['timeout'],
				'ignore_errors' => true, // a 4xx answer's body is the sidecar's reason
			),
		)
	);
	$body = @file_get_contents( $url, false, $ctx );
	if ( false === $body ) {
		return new WP_Error( 'http_request_failed', 'cannot reach ' . $url );
	}
	preg_match( '#^HTTP/\S+ (\d{3})#', $http_response_header[0], $m );
	return array( 'response' => array( 'code' => (int) $m[1] ), 'body' => $body );
}
function wp_remote_retrieve_response_code( $r ) { return $r['response']['code']; }
function wp_remote_retrieve_body( $r ) { return $r['body']; }

/** The parts of WC_Settings_API / WC_Payment_Gateway the gateway uses. */
class WC_Payment_Gateway {
	public $id;
	public $method_title;
	public $method_description;
	public $has_fields;
	public $title;
	public $description;
	public $supports = array( 'products' );
	public $form_fields = array();
	public $settings = array();
	public static $saved = array(); // what get_option reads, by gateway id

	public function init_settings() {
		$this->settings = self::$saved[ $this->id ] ?? array();
		foreach ( $this->form_fields as $k => $f ) {
			if ( ! isset( $this->settings[ $k ] ) ) {
				$this->settings[ $k ] = $f['default'] ?? '';
			}
		}
	}
	public function get_option( $key, $empty = null ) { return $this->settings[ $key ] ?? $empty; }
	public function get_field_key( $key ) { return 'woocommerce_' . $this->id . '_' . $key; }
	public function get_return_url( $order ) { return 'https://shop.example/checkout/order-received/' . $order->get_id() . '/?key=' . $order->get_order_key(); }
	public function supports( $feature ) { return in_array( $feature, $this->supports, true ); }
	public function admin_options() { echo '<table class="form-table"></table>'; }
	public function process_admin_options() {}
}

class WC_Order_Refund {
	private $id;
	public $data = array( 'parent_id' => 0, 'amount' => '0', 'reason' => '' );
	public $meta = array();
	public function __construct( $id = 0 ) { $this->id = $id; }
	public function get_id() { return $this->id; }
	public function set_id( $id ) { $this->id = $id; }
	public function get_parent_id() { return $this->data['parent_id']; }
	public function get_amount() { return $this->data['amount']; }
	public function get_reason() { return $this->data['reason']; }
	public function get_meta( $key ) { return $this->meta[ $key ] ?? ''; }
	public function update_meta_data( $key, $value ) { $this->meta[ $key ] = $value; }
}

/** An order with the getters the gateway reads. */
class WC_Order {
	public $data;
	public $meta = array();
	public $refunds = array();
	public $saves = 0;
	public $status_changes = array();
	public function __construct( array $data ) { $this->data = $data; }
	public function get_id() { return $this->data['id']; }
	public function get_order_key() { return 'wc_order_' . $this->data['id']; }
	public function get_total() { return $this->data['total']; }
	public function get_currency() { return $this->data['currency']; }
	public function get_customer_id() { return $this->data['customer_id'] ?? 0; }
	public function get_billing_first_name() { return 'Åsa'; }
	public function get_billing_last_name() { return 'Ek'; }
	public function get_billing_email() { return $this->data['email'] ?? 'asa.ek@example.se'; }
	public function get_billing_country() { return 'SE'; }
	public function get_billing_phone() { return $this->data['phone'] ?? ''; }
	public function get_cancel_order_url_raw() { return 'https://shop.example/cart/?cancel_order=true&order_id=' . $this->data['id']; }
	public function get_meta( $key ) { return $this->meta[ $key ] ?? ''; }
	public function update_meta_data( $key, $value ) { $this->meta[ $key ] = $value; }
	public function save() { $this->saves++; }
	public function get_refunds() { return $this->refunds; }
	public function update_status( $status, $note = '' ) { $this->status_changes[] = array( $status, $note ); }
	public function get_payment_method() { return $this->data['payment_method'] ?? 'trustly'; }
	public $notes = array();
	public function add_order_note( $note ) { $this->notes[] = $note; }
}

require_once __DIR__ . '/wc-refunds.php';

require_once dirname( __DIR__ ) . '/trustly-sidecar-gateway/trustly-sidecar-gateway.php';
trustly_sidecar_init(); // what plugins_loaded would do
