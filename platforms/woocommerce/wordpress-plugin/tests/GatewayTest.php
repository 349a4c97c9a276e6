<?php
/**
 * The gateway against the stand-ins: what it sends the sidecar and what it
 * hands WooCommerce back.
 *
 * @package TrustlySidecar
 */

use PHPUnit\Framework\TestCase;

class GatewayTest extends TestCase {

	protected function setUp(): void {
		$GLOBALS['tsc_requests']            = array();
		$GLOBALS['tsc_answers']             = array();
		$GLOBALS['tsc_notices']             = array();
		$GLOBALS['tsc_orders']              = array();
		$GLOBALS['tsc_subscription_orders'] = array();
		WC_Payment_Gateway::$saved['trustly'] = array(
			'sidecar_url'       => 'http://127.0.0.1:8081/',
			'api_token'         => 'shop-token-0123456789',
			'shopper_statement' => 'Kaffebutiken',
		);
	}

	private function order( array $data ) {
		$o = new WC_Order( $data + array( 'currency' => 'SEK', 'customer_id' => 7 ) );
		$GLOBALS['tsc_orders'][ $o->get_id() ] = $o;
		return $o;
	}

	private function sent( $i = 0 ) {
		$r = $GLOBALS['tsc_requests'][ $i ];
		return array( $r['url'], $r['args']['headers'], json_decode( $r['args']['body'] ?? 'null', true ) );
	}

	public function test_registers_the_gateway_and_the_renewal_hook() {
		$this->assertContains( 'WC_Gateway_Trustly_Sidecar', apply( 'woocommerce_payment_gateways', array() ) );
		$this->assertArrayHasKey( 'woocommerce_scheduled_subscription_payment_trustly', $GLOBALS['tsc_hooks'] );
	}

	public function test_process_payment_asks_the_sidecar_and_redirects_to_trustly() {
		$order = $this->order( array( 'id' => 1001, 'total' => '103.50', 'phone' => '+46701234567' ) );
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'p_1', 'url' => 'https://trustly.example/checkout/abc' ) );

		$got = ( new WC_Gateway_Trustly_Sidecar() )->process_payment( 1001 );

		$this->assertSame( array( 'result' => 'success', 'redirect' => 'https://trustly.example/checkout/abc' ), $got );
		list( $url, $headers, $body ) = $this->sent();
		$this->assertSame( 'http://127.0.0.1:8081/v1/payments', $url );
		$this->assertSame( 'Bearer shop-token-0123456789', $headers['Authorization'] );
		$this->assertSame( 'wc-order-1001-1', $headers['Idempotency-Key'] );
		$this->assertSame( 10350, $body['amount'] );
		$this->assertSame( 'SEK', $body['currency'] );
		$this->assertSame( '1001', $body['externalReference'] );
		$this->assertSame( 'wc-customer-7', $body['shopper']['endUserId'] );
		$this->assertSame( 'sv_SE', $body['shopper']['locale'] );
		$this->assertSame( '+46701234567', $body['shopper']['mobilePhone'] );
		$this->assertSame( 'https://shop.example/checkout/order-received/1001/?key=wc_order_1001', $body['successUrl'] );
		$this->assertArrayNotHasKey( 'requestDirectDebitMandate', $body );
		$this->assertSame( 'p_1', $order->get_meta( '_trustly_payment_id' ) );
	}

	public function test_a_second_attempt_is_a_new_key() {
		$this->order( array( 'id' => 1001, 'total' => '103.50' ) );
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'p_1', 'url' => 'https://t/1' ) );
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'p_2', 'url' => 'https://t/2' ) );
		$g = new WC_Gateway_Trustly_Sidecar();
		$g->process_payment( 1001 );
		$g->process_payment( 1001 );
		$this->assertSame( 'wc-order-1001-2', $this->sent( 1 )[1]['Idempotency-Key'] );
	}

	public function test_the_first_subscription_payment_asks_for_a_mandate() {
		$this->order( array( 'id' => 1002, 'total' => '199.00' ) );
		$GLOBALS['tsc_subscription_orders'] = array( 1002 );
		$GLOBALS['tsc_answers'][]           = array( 201, array( 'id' => 'p_3', 'url' => 'https://t/3' ) );
		( new WC_Gateway_Trustly_Sidecar() )->process_payment( 1002 );
		$this->assertTrue( $this->sent()[2]['requestDirectDebitMandate'] );
	}

	/**
	 * @dataProvider failures
	 */
	public function test_a_refused_payment_is_a_failed_checkout_with_a_notice( $answer, $notice ) {
		$this->order( array( 'id' => 1001, 'total' => '103.50' ) );
		if ( null !== $answer ) {
			$GLOBALS['tsc_answers'][] = $answer;
		}
		$got = ( new WC_Gateway_Trustly_Sidecar() )->process_payment( 1001 );
		$this->assertSame( array( 'result' => 'failure' ), $got );
		$this->assertSame( 'error', $GLOBALS['tsc_notices'][0][0] );
		$this->assertStringContainsString( $notice, $GLOBALS['tsc_notices'][0][1] );
		$this->assertStringNotContainsString( 'shop-token', $GLOBALS['tsc_notices'][0][1] );
	}

	public function failures() {
		return array(
			'the sidecar is down'         => array( null, 'not available right now' ),
			'the sidecar says why'        => array( array( 422, array( 'error' => array( 'code' => 'invalid_request', 'message' => 'shopper.country is required' ) ) ), 'Trustly: shopper.country is required' ),
			'a 201 without a URL'         => array( array( 201, array( 'id' => 'p_1' ) ), 'not available' ),
			'the sidecar is unavailable'  => array( array( 503, array() ), 'not available' ),
		);
	}

	public function test_nothing_is_asked_for_an_order_that_cannot_be_paid() {
		$this->order( array( 'id' => 1003, 'total' => '0.00' ) );
		$g = new WC_Gateway_Trustly_Sidecar();
		$this->assertSame( array( 'result' => 'failure' ), $g->process_payment( 1003 ) );
		$this->assertSame( array( 'result' => 'failure' ), $g->process_payment( 4040 ) );
		$this->assertSame( array(), $GLOBALS['tsc_requests'] );
		$this->assertTrue( is_wp_error( $g->process_refund( 1003, 1.0 ) ) ); // no Trustly payment on it
		$this->assertSame( array(), $GLOBALS['tsc_requests'] );
	}

	public function test_a_float_total_is_formatted_before_it_is_converted() {
		$this->order( array( 'id' => 1004, 'total' => 0.1 + 0.2 ) );
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'p_4', 'url' => 'https://t/4' ) );
		( new WC_Gateway_Trustly_Sidecar() )->process_payment( 1004 );
		$this->assertSame( 30, $this->sent()[2]['amount'] );
	}

	public function test_money_never_goes_through_a_float() {
		$this->assertSame( 10350, Trustly_Sidecar_Client::to_minor( '103.50', 2 ) );
		$this->assertSame( 10350, Trustly_Sidecar_Client::to_minor( '103.5', 2 ) );
		$this->assertSame( 10350, Trustly_Sidecar_Client::to_minor( '103.5000', 2 ) );
		$this->assertSame( 7, Trustly_Sidecar_Client::to_minor( '0.07', 2 ) );
		$this->assertSame( 1500, Trustly_Sidecar_Client::to_minor( '1500', 0 ) );
		$this->assertNull( Trustly_Sidecar_Client::to_minor( '103.505', 2 ) );
		$this->assertNull( Trustly_Sidecar_Client::to_minor( '-1.00', 2 ) );
		$this->assertNull( Trustly_Sidecar_Client::to_minor( '1e3', 2 ) );
		// 0.1 + 0.2 as a float is 0.30000000000000004: WooCommerce formats
		// it to 2 places before it reaches to_minor.
		$this->assertSame( 30, Trustly_Sidecar_Client::to_minor( wc_format_decimal( 0.1 + 0.2, 2 ), 2 ) );
	}

	public function test_a_renewal_charges_the_mandate() {
		$renewal = $this->order( array( 'id' => 1077, 'total' => '199.00' ) );
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'c_1' ) );
		do_action( 'woocommerce_scheduled_subscription_payment_trustly', '199.00', $renewal );
		list( $url, $headers, $body ) = $this->sent();
		$this->assertSame( 'http://127.0.0.1:8081/v1/charges', $url );
		$this->assertSame( 'wc-renewal-1077', $headers['Idempotency-Key'] );
		$this->assertSame( 'wc-customer-7', $body['endUserId'] ); // the first payment's: the mandate is the customer's
		$this->assertSame( 19900, $body['amount'] );
		$this->assertSame( 'asa.ek@example.se', $body['email'] );
		$this->assertSame( '1077', $body['externalReference'] );
		$this->assertSame( array(), $renewal->status_changes );
		$this->assertSame( 'c_1', $renewal->get_meta( '_trustly_payment_id' ) );
	}

	public function test_a_refused_renewal_fails_the_renewal_order() {
		$renewal = $this->order( array( 'id' => 1078, 'total' => '199.00' ) );
		$GLOBALS['tsc_answers'][] = array( 409, array( 'error' => array( 'code' => 'no_mandate', 'message' => 'no active mandate' ) ) );
		do_action( 'woocommerce_scheduled_subscription_payment_trustly', 199.0, $renewal );
		$this->assertSame( array( array( 'failed', 'Trustly: no active mandate' ) ), $renewal->status_changes );
	}

	public function test_the_token_is_never_echoed_and_kept_when_left_empty() {
		$g    = new WC_Gateway_Trustly_Sidecar();
		$html = $g->generate_secret_html( 'api_token', $g->form_fields['api_token'] );
		$this->assertStringNotContainsString( 'shop-token-0123456789', $html );
		$this->assertStringContainsString( 'value=""', $html );
		$this->assertSame( 'shop-token-0123456789', $g->validate_secret_field( 'api_token', '' ) );
		$this->assertSame( 'new-token', $g->validate_secret_field( 'api_token', ' new-token ' ) );
	}

	public function test_webhooks_may_reach_the_sidecar_and_nothing_else_local() {
		// wp_safe_remote_request asks these filters before a webhook delivery.
		$this->assertTrue( apply_filters( 'http_request_host_is_external', false, '127.0.0.1', 'http://127.0.0.1:8081/v1/webhooks/woocommerce' ) );
		$this->assertFalse( apply_filters( 'http_request_host_is_external', false, '192.168.1.5', 'http://192.168.1.5:8081/' ) );
		$this->assertSame( array( 80, 443, 8080, 8081 ), apply_filters( 'http_allowed_safe_ports', array( 80, 443, 8080 ), '127.0.0.1', 'http://127.0.0.1:8081/' ) );
		$this->assertSame( array( 80, 443, 8080 ), apply_filters( 'http_allowed_safe_ports', array( 80, 443, 8080 ), 'evil.example', 'http://evil.example:8081/' ) );
		WC_Payment_Gateway::$saved['trustly'] = array();
		$this->assertFalse( apply_filters( 'http_request_host_is_external', false, '127.0.0.1', 'http://127.0.0.1:8081/' ) );
	}

	public function test_the_health_line_reads_readyz() {
		$g = new WC_Gateway_Trustly_Sidecar();
		$GLOBALS['tsc_answers'][] = array( 200, array( 'status' => 'ready' ) );
		$this->assertSame( 'Sidecar ready.', $g->health() );
		$this->assertSame( 'http://127.0.0.1:8081/readyz', $this->sent()[0] );
		$GLOBALS['tsc_answers'][] = array( 503, array() );
		$this->assertSame( 'Sidecar not ready (HTTP 503).', $g->health() );
		$this->assertStringContainsString( 'not reachable', $g->health() );
	}
}

/** Runs a filter's callbacks. */
function apply( $hook, $value ) {
	return apply_filters( $hook, $value );
}
