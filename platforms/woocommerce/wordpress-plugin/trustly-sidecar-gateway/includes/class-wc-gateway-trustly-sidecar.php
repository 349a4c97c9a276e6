<?php
/**
 * The Trustly payment gateway: a thin shim over the sidecar.
 *
 * @package TrustlySidecar
 */

defined( 'ABSPATH' ) || exit;

/**
 * The gateway asks the sidecar and does what it answers; the payment's state
 * comes back into the order through the sidecar's WooCommerce adapter (REST
 * API write-back), never from here. So there is no payment logic in PHP: a
 * request is built from the order, sent, and its answer passed on.
 */
class WC_Gateway_Trustly_Sidecar extends WC_Payment_Gateway {

	/** The gateway id: the orders' payment_method, and the adapter's TRUSTLY_WOOCOMMERCE_GATEWAY_ID. */
	const ID = 'trustly';

	/** Order meta: the sidecar's id of the order's payment, for refunds. */
	const META_PAYMENT = '_trustly_payment_id';

	/** Order meta: how many times checkout was tried, for the idempotency key. */
	const META_ATTEMPT = '_trustly_attempt';

	/**
	 * Refund meta: who moves the money of a refund of a Trustly order
	 * (gateway, sidecar or manual; see stamp_refund). No leading underscore:
	 * the sidecar's adapter reads it over the REST API, which hides
	 * protected meta.
	 */
	const META_REFUND_BY = 'trustly_refund_by';

	/** @var WC_Order_Refund|null The refund wc_create_refund is making in this request, for process_refund. */
	public static $creating_refund = null;

	/** @var int Seconds between tries of a refund whose answer was lost; tests set 0. */
	public $retry_wait = 1;

	/** @var Trustly_Sidecar_Client|null Set by tests; built from the settings otherwise. */
	public $client;

	/** Sets the gateway up from its settings. */
	public function __construct() {
		$this->id                 = self::ID;
		$this->method_title       = __( 'Trustly (trustly-sidecar)', 'trustly-sidecar' );
		$this->method_description = __( 'Pay by bank with Trustly. Payments are made by the trustly-sidecar running beside WordPress.', 'trustly-sidecar' );
		$this->has_fields         = false;
		$this->init_form_fields();
		$this->init_settings();
		$this->title       = $this->get_option( 'title' );
		$this->description = $this->get_option( 'description' );
		$this->supports    = array(
			'products',
			'subscriptions',
			'subscription_cancellation',
			'subscription_suspension',
			'subscription_reactivation',
			'subscription_amount_changes',
			'subscription_date_changes',
		);
		// Exactly one path turns a WooCommerce refund into a Trustly refund:
		// this gateway (WooCommerce's "Refund via Trustly" button; the
		// default), or the sidecar's adapter reading the order webhook (then
		// the admin records the refund and the adapter carries it out).
		// stamp_refund writes the choice on each refund.
		if ( 'webhook' !== $this->get_option( 'refunds' ) ) {
			$this->supports[] = 'refunds';
		}
		add_action( 'woocommerce_update_options_payment_gateways_' . $this->id, array( $this, 'process_admin_options' ) );
	}

	/** The settings page. */
	public function init_form_fields() {
		$this->form_fields = array(
			'enabled'           => array(
				'title'   => __( 'Enable', 'trustly-sidecar' ),
				'type'    => 'checkbox',
				'label'   => __( 'Offer Trustly at checkout', 'trustly-sidecar' ),
				'default' => 'no',
			),
			'title'             => array(
				'title'   => __( 'Title', 'trustly-sidecar' ),
				'type'    => 'text',
				'default' => __( 'Pay by bank (Trustly)', 'trustly-sidecar' ),
			),
			'description'       => array(
				'title'   => __( 'Description', 'trustly-sidecar' ),
				'type'    => 'textarea',
				'default' => __( 'Pay directly from your bank account.', 'trustly-sidecar' ),
			),
			'sidecar_url'       => array(
				'title'       => __( 'Sidecar URL', 'trustly-sidecar' ),
				'type'        => 'text',
				'description' => __( 'The sidecar\'s private listener, e.g. http://127.0.0.1:8081.', 'trustly-sidecar' ),
				'default'     => 'http://127.0.0.1:8081',
			),
			'api_token'         => array(
				'title'       => __( 'Shop API token', 'trustly-sidecar' ),
				'type'        => 'secret',
				'description' => __( 'TRUSTLY_SIDECAR_SHOP_API_TOKEN. Never shown again; leave empty to keep the saved one.', 'trustly-sidecar' ),
				'default'     => '',
			),
			'shopper_statement' => array(
				'title'       => __( 'Bank statement text', 'trustly-sidecar' ),
				'type'        => 'text',
				'description' => __( 'What the shopper sees on the bank statement.', 'trustly-sidecar' ),
				'default'     => '',
			),
			'refunds'           => array(
				'title'   => __( 'Refunds', 'trustly-sidecar' ),
				'type'    => 'select',
				'description' => __( '"Refund via Trustly" moves money and "Refund manually" only records a refund made another way, as in WooCommerce. Or: every refund recorded in the order is paid back through Trustly by the sidecar (needs the order webhook).', 'trustly-sidecar' ),
				'options' => array(
					'gateway' => __( 'Refund via Trustly button', 'trustly-sidecar' ),
					'webhook' => __( 'The sidecar refunds what is recorded in the order (webhook)', 'trustly-sidecar' ),
				),
				'default' => 'gateway',
			),
		);
	}

	/**
	 * The token field: rendered empty so the saved token is never echoed
	 * into the page.
	 *
	 * @param string $key  Field key.
	 * @param array  $data Field definition.
	 * @return string HTML.
	 */
	public function generate_secret_html( $key, $data ) {
		$data['type']        = 'password';
		$data['placeholder'] = '' !== $this->get_option( $key ) ? __( '(saved)', 'trustly-sidecar' ) : '';
		$field               = $this->get_field_key( $key );
		return '<tr valign="top"><th scope="row" class="titledesc"><label for="' . esc_attr( $field ) . '">' . esc_html( $data['title'] ) .
			'</label></th><td class="forminp"><input type="password" autocomplete="new-password" name="' . esc_attr( $field ) . '" id="' . esc_attr( $field ) .
			'" value="" placeholder="' . esc_attr( $data['placeholder'] ) . '" /><p class="description">' . esc_html( $data['description'] ) . '</p></td></tr>';
	}

	/**
	 * An empty token field keeps the saved token.
	 *
	 * @param string $key   Field key.
	 * @param string $value Posted value.
	 * @return string
	 */
	public function validate_secret_field( $key, $value ) {
		$value = trim( (string) $value );
		return '' === $value ? (string) $this->get_option( $key ) : $value;
	}

	/** The settings page, with a health line from the sidecar's /readyz. */
	public function admin_options() {
		echo '<p>' . esc_html( $this->health() ) . '</p>';
		parent::admin_options();
	}

	/**
	 * One line about the sidecar: ready, or why not.
	 *
	 * @return string
	 */
	public function health() {
		$res = $this->client()->get( '/readyz' );
		if ( is_wp_error( $res ) ) {
			return sprintf( __( 'Sidecar not reachable at %1$s: %2$s', 'trustly-sidecar' ), $this->get_option( 'sidecar_url' ), $res->get_error_message() );
		}
		if ( 200 === $res[0] ) {
			return __( 'Sidecar ready.', 'trustly-sidecar' );
		}
		return sprintf( __( 'Sidecar not ready (HTTP %d).', 'trustly-sidecar' ), $res[0] );
	}

	/** @return Trustly_Sidecar_Client */
	private function client() {
		if ( null === $this->client ) {
			$this->client = new Trustly_Sidecar_Client( $this->get_option( 'sidecar_url' ), $this->get_option( 'api_token' ) );
		}
		return $this->client;
	}

	/**
	 * Checkout: ask the sidecar for a Trustly payment of the order and send
	 * the shopper to it.
	 *
	 * @param int $order_id The order.
	 * @return array
	 */
	public function process_payment( $order_id ) {
		$order = wc_get_order( $order_id );
		if ( ! $order ) {
			return $this->fail( __( 'This order cannot be paid with Trustly.', 'trustly-sidecar' ) );
		}
		// WooCommerce stores totals as decimal strings, but a filter may hand
		// back a float: format it to the shop's decimals before converting.
		$minor = Trustly_Sidecar_Client::to_minor( wc_format_decimal( $order->get_total(), wc_get_price_decimals() ), wc_get_price_decimals() );
		if ( null === $minor || $minor <= 0 ) {
			return $this->fail( __( 'This order cannot be paid with Trustly.', 'trustly-sidecar' ) );
		}
		// A new attempt (the shopper came back and tries again) is a new
		// payment; a retried request of the same attempt is not.
		$attempt = (int) $order->get_meta( self::META_ATTEMPT ) + 1;
		$order->update_meta_data( self::META_ATTEMPT, (string) $attempt );
		$order->save();

		$body = array(
			'amount'            => $minor,
			'currency'          => $order->get_currency(),
			'shopper'           => $this->shopper( $order ),
			'successUrl'        => $this->get_return_url( $order ),
			'failUrl'           => $order->get_cancel_order_url_raw(),
			'shopperStatement'  => $this->get_option( 'shopper_statement' ),
			// The adapter finds the order by it when status comes back.
			'externalReference' => (string) $order->get_id(),
		);
		if ( function_exists( 'wcs_order_contains_subscription' ) && wcs_order_contains_subscription( $order ) ) {
			// The first payment of a subscription also sets up the mandate
			// that later renewals are charged on.
			$body['requestDirectDebitMandate'] = true;
		}
		$res = $this->client()->post( '/v1/payments', $body, 'wc-order-' . $order->get_id() . '-' . $attempt );
		if ( is_wp_error( $res ) || 201 !== $res[0] || empty( $res[1]['url'] ) ) {
			return $this->fail( $this->error_text( $res ) );
		}
		$order->update_meta_data( self::META_PAYMENT, (string) $res[1]['id'] );
		$order->save();
		return array(
			'result'   => 'success',
			'redirect' => $res[1]['url'],
		);
	}

	/**
	 * woocommerce_create_refund: wc_create_refund fires it for every refund
	 * (the admin's two buttons, the REST API, an order set to Refunded)
	 * before the refund's first save and before it calls process_refund. The
	 * refund of a Trustly order is stamped with who moves its money, and
	 * that stamp is the only thing the sidecar's adapter acts on, so one
	 * WooCommerce refund is never two Trustly refunds:
	 *
	 *   gateway  WooCommerce calls process_refund next (refund_payment);
	 *   sidecar  recorded while the refunds setting is "webhook": the
	 *            adapter carries it out when the order webhook arrives;
	 *   manual   money returned another way ("Refund manually" in the
	 *            default setting), the order's status set to Refunded (that
	 *            refund is WooCommerce's bookkeeping, wc_order_fully_refunded),
	 *            or a refund the sidecar itself recorded (its reason carries
	 *            the "[trustly-sidecar " marker).
	 *
	 * @param WC_Order_Refund $refund The refund, not saved yet.
	 * @param array           $args   wc_create_refund's arguments.
	 */
	public static function stamp_refund( $refund, $args ) {
		$order = wc_get_order( $refund->get_parent_id() );
		if ( ! $order || self::ID !== $order->get_payment_method() ) {
			return;
		}
		$settings = get_option( 'woocommerce_trustly_settings', array() );
		$mode     = is_array( $settings ) && isset( $settings['refunds'] ) ? $settings['refunds'] : 'gateway';
		if ( ! empty( $args['refund_payment'] ) ) {
			$by = 'gateway';
		} elseif ( 'webhook' === $mode && ! doing_action( 'woocommerce_order_status_refunded' ) && false === strpos( (string) $refund->get_reason(), '[trustly-sidecar ' ) ) {
			$by = 'sidecar';
		} else {
			$by = 'manual';
		}
		$refund->update_meta_data( self::META_REFUND_BY, $by );
		self::$creating_refund = $refund;
	}

	/**
	 * "Refund via Trustly": forward the refund WooCommerce just created to
	 * the sidecar. Its key is that refund's id, so a repeated call is the
	 * same refund and two refunds of the same amount are two.
	 *
	 * A refusal is returned as a WP_Error: WooCommerce then deletes the
	 * refund and shows the message; it is also kept as an order note.
	 *
	 * @param int        $order_id The order.
	 * @param float|null $amount   The amount WooCommerce refunds.
	 * @param string     $reason   The admin's reason.
	 * @return bool|WP_Error
	 */
	public function process_refund( $order_id, $amount = null, $reason = '' ) {
		$order   = wc_get_order( $order_id );
		$payment = $order ? (string) $order->get_meta( self::META_PAYMENT ) : '';
		if ( '' === $payment ) {
			return new WP_Error( 'trustly_no_payment', __( 'This order has no Trustly payment to refund.', 'trustly-sidecar' ) );
		}
		$decimals = wc_get_price_decimals();
		$minor    = Trustly_Sidecar_Client::to_minor( wc_format_decimal( $amount, $decimals ), $decimals );
		if ( null === $minor || $minor <= 0 ) {
			return new WP_Error( 'trustly_bad_amount', __( 'Enter an amount to refund.', 'trustly-sidecar' ) );
		}
		// The refund wc_create_refund saved just before calling us (stamped
		// "gateway" by stamp_refund). Without it there is no id to make the
		// key from, and a key made from anything else could merge two
		// refunds into one: refuse rather than guess.
		$refund                = self::$creating_refund;
		self::$creating_refund = null;
		if ( ! $refund || (int) $refund->get_parent_id() !== (int) $order->get_id() || ! $refund->get_id() ||
			'gateway' !== $refund->get_meta( self::META_REFUND_BY ) ||
			Trustly_Sidecar_Client::to_minor( wc_format_decimal( $refund->get_amount(), $decimals ), $decimals ) !== $minor ) {
			return new WP_Error( 'trustly_no_refund', __( 'Trustly refunds are made with the order\'s "Refund via Trustly" button; nothing was sent to Trustly.', 'trustly-sidecar' ) );
		}
		$key  = 'wc-refund-' . $order->get_id() . '-' . $refund->get_id();
		$body = array(
			'amount'   => $minor,
			'currency' => $order->get_currency(),
		);
		// An answer lost on the way (timeout, connection reset) or a first
		// try still running at the sidecar (409 idempotency_key_in_use) is
		// asked again under the same key: the sidecar answers what it did.
		for ( $try = 1; ; $try++ ) {
			$res = $this->client()->post( '/v1/payments/' . rawurlencode( $payment ) . '/refunds', $body, $key );
			$again = is_wp_error( $res ) || ( 409 === $res[0] && 'idempotency_key_in_use' === ( $res[1]['error']['code'] ?? '' ) );
			if ( ! $again || $try >= 3 ) {
				break;
			}
			if ( $this->retry_wait > 0 ) {
				sleep( $this->retry_wait );
			}
		}
		$shown = wc_format_decimal( $refund->get_amount(), $decimals ) . ' ' . $order->get_currency();
		if ( is_array( $res ) && 201 === $res[0] ) {
			$order->add_order_note( sprintf( __( 'Trustly: refund of %1$s sent to Trustly (WooCommerce refund #%2$d, sidecar refund %3$s). Trustly pays it out later; this order gets a note when it has.', 'trustly-sidecar' ), $shown, $refund->get_id(), (string) ( $res[1]['id'] ?? '' ) ) );
			return true;
		}
		$code = is_array( $res ) ? (string) ( $res[1]['error']['code'] ?? '' ) : '';
		if ( is_wp_error( $res ) || $again || $res[0] >= 500 || 'idempotency_key_interrupted' === $code ) {
			// The sidecar may have sent the refund: the admin must not
			// simply try again with a new refund (a new key).
			$text = sprintf( __( 'Trustly: the refund of %1$s may or may not have been sent: the sidecar could not say (%2$s). Do not refund again before checking payment %3$s in the sidecar (trustly-sidecar orders show %3$s); if Trustly pays it out, the sidecar records the refund in this order itself.', 'trustly-sidecar' ), $shown, is_wp_error( $res ) ? $res->get_error_message() : $this->error_text( $res ), $payment );
		} else {
			$text = sprintf( __( 'Trustly: the refund of %1$s was not made: %2$s', 'trustly-sidecar' ), $shown, (string) ( $res[1]['error']['message'] ?? ( 'HTTP ' . $res[0] ) ) );
		}
		$order->add_order_note( $text );
		return new WP_Error( 'trustly_refund_refused', $text );
	}

	/**
	 * A renewal of WooCommerce Subscriptions: charge the shopper's mandate.
	 * The outcome reaches the renewal order through the adapter.
	 *
	 * @param float|string $amount        The amount due.
	 * @param WC_Order     $renewal_order The renewal order.
	 */
	public function scheduled_subscription_payment( $amount, $renewal_order ) {
		$decimals = wc_get_price_decimals();
		$minor    = Trustly_Sidecar_Client::to_minor( wc_format_decimal( $amount, $decimals ), $decimals );
		$res      = null;
		if ( null !== $minor && $minor > 0 ) {
			$res = $this->client()->post(
				'/v1/charges',
				array(
					'endUserId'         => $this->end_user_id( $renewal_order ),
					'amount'            => $minor,
					'currency'          => $renewal_order->get_currency(),
					'shopperStatement'  => $this->get_option( 'shopper_statement' ),
					'email'             => $renewal_order->get_billing_email(),
					'externalReference' => (string) $renewal_order->get_id(),
				),
				'wc-renewal-' . $renewal_order->get_id()
			);
		}
		if ( is_array( $res ) && 201 === $res[0] ) {
			$renewal_order->update_meta_data( self::META_PAYMENT, (string) $res[1]['id'] );
			$renewal_order->save();
			return;
		}
		// WooCommerce Subscriptions' way to say a renewal was not charged:
		// the renewal order fails and the subscription goes on hold.
		$renewal_order->update_status( 'failed', $this->error_text( $res ) );
	}

	/**
	 * The payer for the sidecar.
	 *
	 * @param WC_Order $order The order.
	 * @return array
	 */
	private function shopper( $order ) {
		$shopper = array(
			'endUserId' => $this->end_user_id( $order ),
			'firstName' => $order->get_billing_first_name(),
			'lastName'  => $order->get_billing_last_name(),
			'email'     => $order->get_billing_email(),
			'country'   => $order->get_billing_country(),
			'locale'    => $this->locale(),
		);
		if ( '' !== (string) $order->get_billing_phone() ) {
			$shopper['mobilePhone'] = $order->get_billing_phone();
		}
		return $shopper;
	}

	/**
	 * Stable per shopper, and the same for a subscription's first payment
	 * and its renewals (the mandate belongs to it). Guests get a hash of
	 * their e-mail, never the e-mail itself.
	 *
	 * @param WC_Order $order The order.
	 * @return string
	 */
	private function end_user_id( $order ) {
		$customer = (int) $order->get_customer_id();
		if ( $customer > 0 ) {
			return 'wc-customer-' . $customer;
		}
		return 'wc-guest-' . substr( hash( 'sha256', strtolower( (string) $order->get_billing_email() ) ), 0, 32 );
	}

	/** @return string WordPress's locale as Trustly wants it (sv_SE). */
	private function locale() {
		$l = (string) get_locale();
		return preg_match( '/^[a-z]{2}_[A-Z]{2}/', $l ) ? substr( $l, 0, 5 ) : 'en_GB';
	}

	/**
	 * @param string $message For the shopper.
	 * @return array WooCommerce's failed-checkout answer.
	 */
	private function fail( $message ) {
		wc_add_notice( $message, 'error' );
		return array( 'result' => 'failure' );
	}

	/**
	 * The sidecar's error message (its text is written for people), or a
	 * general one when it could not be reached.
	 *
	 * @param array|WP_Error|null $res The answer.
	 * @return string
	 */
	private function error_text( $res ) {
		if ( is_array( $res ) && ! empty( $res[1]['error']['message'] ) ) {
			return 'Trustly: ' . $res[1]['error']['message'];
		}
		return __( 'Trustly is not available right now. Please try again in a moment.', 'trustly-sidecar' );
	}
}
