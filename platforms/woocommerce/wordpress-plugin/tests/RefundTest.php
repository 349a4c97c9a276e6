<?php
/**
 * Refunds, through the stand-in of wc_create_refund (tests/wc-refunds.php):
 * each WooCommerce refund is stamped with who moves its money, the "Refund
 * via Trustly" button sends exactly that refund under its own key, and a
 * refund the sidecar did not make is visible on the order.
 *
 * @package TrustlySidecar
 */

use PHPUnit\Framework\TestCase;

class RefundTest extends TestCase {

	/** @var WC_Order */
	private $order;

	protected function setUp(): void {
		$GLOBALS['tsc_requests'] = array();
		$GLOBALS['tsc_answers']  = array();
		$GLOBALS['tsc_orders']   = array();
		WC_Payment_Gateway::$saved['trustly'] = array(
			'sidecar_url' => 'http://127.0.0.1:8081',
			'api_token'   => 'shop-token-0123456789',
		);
		WC_Gateway_Trustly_Sidecar::$creating_refund = null;
		$this->order       = new WC_Order( array( 'id' => 1001, 'total' => '103.50', 'currency' => 'SEK' ) );
		$this->order->meta = array( '_trustly_payment_id' => 'p_1' );
		$GLOBALS['tsc_orders'][1001] = $this->order;
	}

	private function refund( $amount, $refund_payment, $reason = '' ) {
		return wc_create_refund( array( 'amount' => $amount, 'reason' => $reason, 'order_id' => 1001, 'refund_payment' => $refund_payment ) );
	}

	private function keys() {
		return array_map( function ( $r ) { return $r['args']['headers']['Idempotency-Key']; }, $GLOBALS['tsc_requests'] );
	}

	public function test_the_trustly_button_is_the_default() {
		$this->assertTrue( ( new WC_Gateway_Trustly_Sidecar() )->supports( 'refunds' ) );
	}

	public function test_the_button_sends_that_refund_under_its_own_id() {
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'p_1.r_1' ) );
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'p_1.r_2' ) );
		$first  = $this->refund( '25.00', true, 'damaged' );
		$second = $this->refund( '25.00', true, 'damaged too' ); // the same amount again: a second refund

		$this->assertSame( 'gateway', $first->get_meta( 'trustly_refund_by' ) );
		$this->assertTrue( $first->data['refunded_payment'] );
		$this->assertSame( array( 'wc-refund-1001-' . $first->get_id(), 'wc-refund-1001-' . $second->get_id() ), $this->keys() );
		$r = $GLOBALS['tsc_requests'][0];
		$this->assertSame( 'http://127.0.0.1:8081/v1/payments/p_1/refunds', $r['url'] );
		$this->assertSame( array( 'amount' => 2500, 'currency' => 'SEK' ), json_decode( $r['args']['body'], true ) );
		$this->assertCount( 2, $this->order->refunds );
		$this->assertStringContainsString( 'refund of 25.00 SEK sent to Trustly (WooCommerce refund #' . $first->get_id(), $this->order->notes[0] );
	}

	public function test_a_refusal_is_shown_and_noted_and_the_refund_is_not_kept() {
		$GLOBALS['tsc_answers'][] = array( 409, array( 'error' => array( 'code' => 'amount_exceeds_refundable', 'message' => 'at most 53.50 SEK can be refunded' ) ) );
		$err = $this->refund( '60.00', true );
		$this->assertTrue( is_wp_error( $err ) );
		$this->assertStringContainsString( 'was not made', $err->get_error_message() );
		$this->assertStringContainsString( 'at most 53.50 SEK', $err->get_error_message() );
		$this->assertSame( array(), $this->order->refunds ); // WooCommerce deletes it
		$this->assertCount( 1, $this->order->notes );
		$this->assertStringContainsString( 'at most 53.50 SEK', $this->order->notes[0] );
	}

	public function test_a_lost_answer_is_asked_again_under_the_same_key() {
		$GLOBALS['tsc_answers'][] = new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' );
		$GLOBALS['tsc_answers'][] = array( 409, array( 'error' => array( 'code' => 'idempotency_key_in_use', 'message' => 'in flight' ) ) );
		$GLOBALS['tsc_answers'][] = array( 201, array( 'id' => 'p_1.r_1' ) );
		$refund = $this->refund( '10.00', true );
		$this->assertInstanceOf( WC_Order_Refund::class, $refund );
		$key = 'wc-refund-1001-' . $refund->get_id();
		$this->assertSame( array( $key, $key, $key ), $this->keys() );
	}

	/**
	 * @dataProvider unknown_outcomes
	 */
	public function test_an_unknown_outcome_warns_against_refunding_again( $answers ) {
		$GLOBALS['tsc_answers'] = $answers;
		$err = $this->refund( '10.00', true );
		$this->assertTrue( is_wp_error( $err ) );
		$this->assertStringContainsString( 'may or may not have been sent', $err->get_error_message() );
		$this->assertStringContainsString( 'Do not refund again before checking payment p_1', $this->order->notes[0] );
	}

	public function unknown_outcomes() {
		$timeout = new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' );
		return array(
			'no answer, three times'  => array( array( $timeout, $timeout, $timeout ) ),
			'the sidecar failed'      => array( array( array( 500, array() ) ) ),
			'an interrupted first try' => array( array( array( 409, array( 'error' => array( 'code' => 'idempotency_key_interrupted', 'message' => 'outcome unknown' ) ) ) ) ),
		);
	}

	public function test_process_refund_outside_wc_create_refund_sends_nothing() {
		$err = ( new WC_Gateway_Trustly_Sidecar() )->process_refund( 1001, 10.0, 'direct' );
		$this->assertTrue( is_wp_error( $err ) );
		$this->assertSame( 'trustly_no_refund', $err->get_error_code() );
		$this->assertSame( array(), $GLOBALS['tsc_requests'] );
	}

	public function test_refund_manually_moves_no_money() {
		$refund = $this->refund( '10.00', false, 'cash at the counter' );
		$this->assertSame( 'manual', $refund->get_meta( 'trustly_refund_by' ) );
		$this->assertSame( array(), $GLOBALS['tsc_requests'] );
	}

	public function test_in_webhook_mode_a_recorded_refund_is_the_sidecars() {
		WC_Payment_Gateway::$saved['trustly']['refunds'] = 'webhook';
		$this->assertFalse( ( new WC_Gateway_Trustly_Sidecar() )->supports( 'refunds' ) );
		$this->assertSame( 'sidecar', $this->refund( '10.00', false, 'damaged' )->get_meta( 'trustly_refund_by' ) );
		// Not the bookkeeping refund of a status set to Refunded, nor one
		// the sidecar recorded itself (the adapter's marker).
		$this->assertSame( 'manual', tsc_set_status_refunded( $this->order, '93.50' )->get_meta( 'trustly_refund_by' ) );
		$this->assertSame( 'manual', $this->refund( '1.00', false, 'Refunded through Trustly [trustly-sidecar refund p_1.r_9]' )->get_meta( 'trustly_refund_by' ) );
		// The button is not offered; WooCommerce refuses a gateway refund.
		$this->assertTrue( is_wp_error( $this->refund( '1.00', true ) ) );
		$this->assertSame( array(), $GLOBALS['tsc_requests'] );
	}

	public function test_another_gateways_refunds_are_not_stamped() {
		$this->order->data['payment_method'] = 'bacs';
		$this->assertSame( '', $this->refund( '10.00', false )->get_meta( 'trustly_refund_by' ) );
	}
}
