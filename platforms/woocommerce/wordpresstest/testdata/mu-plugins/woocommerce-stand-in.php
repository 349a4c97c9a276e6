<?php
/**
 * Plugin Name: WooCommerce stand-in (trustly-sidecar tests only)
 * Description: NOT WooCommerce. A minimal stand-in for the parts of WooCommerce the Trustly (trustly-sidecar) plugin calls, so that plugin runs inside a real WordPress in the tests (wordpress_test.go). WooCommerce itself is served by no package registry this project may use.
 *
 * What is here, and only this: WC_Settings_API and WC_Payment_Gateway
 * (settings, the settings form, get_return_url, supports), WC_Order and
 * WC_Order_Refund kept the way WooCommerce's classic storage keeps them
 * (posts of type shop_order / shop_order_refund with post meta), the
 * functions the plugin calls (wc_get_order, wc_get_price_decimals,
 * wc_format_decimal, wc_add_notice, wc_create_refund), the gateway settings
 * page (WooCommerce → Settings → Payments → the gateway), the checkout's
 * AJAX answer and the admin's "Refund via …" AJAX action. Names, arguments,
 * option keys, hooks and answers follow WooCommerce's code reference
 * (https://woocommerce.github.io/code-reference/, classes WC_Settings_API,
 * WC_Payment_Gateway, WC_Abstract_Order, WC_Order, WC_AJAX, WC_Checkout,
 * functions wc_create_refund, wc_refund_payment); the behaviour is reduced
 * to what the tests reach: no cart, no taxes, no line items, no stock, no
 * e-mails, no HPOS.
 *
 * The checkout has no cart: it makes an order of the posted total (the
 * stand_in_total field, which real WooCommerce takes from the cart) and
 * skips the checkout nonce; everything after that (the gateway's
 * process_payment and the JSON answer) is as WooCommerce does it.
 *
 * @package TrustlySidecarTests
 */

defined( 'ABSPATH' ) || exit;

/**
 * WooCommerce's settings API for gateways: fields, their values in the
 * option woocommerce_{id}_settings, the form.
 */
abstract class WC_Settings_API {
	/** @var string */
	public $plugin_id = 'woocommerce_';
	/** @var string */
	public $id = '';
	/** @var array */
	public $errors = array();
	/** @var array */
	public $settings = array();
	/** @var array */
	public $form_fields = array();
	/** @var array */
	protected $data = array();

	/** @return array */
	public function get_form_fields() {
		return apply_filters( 'woocommerce_settings_api_form_fields_' . $this->id, array_map( array( $this, 'set_defaults' ), $this->form_fields ) );
	}

	/**
	 * @param array $field Field.
	 * @return array
	 */
	protected function set_defaults( $field ) {
		if ( ! isset( $field['default'] ) ) {
			$field['default'] = '';
		}
		return $field;
	}

	/** Outputs the form's fields. */
	public function admin_options() {
		echo '<table class="form-table">' . $this->generate_settings_html( $this->get_form_fields(), false ) . '</table>'; // phpcs:ignore WordPress.Security.EscapeOutput
	}

	/** Loads the settings, defaults where nothing is saved. */
	public function init_settings() {
		$this->settings = get_option( $this->get_option_key(), null );
		if ( ! is_array( $this->settings ) ) {
			$form_fields    = $this->get_form_fields();
			$this->settings = array_merge( array_fill_keys( array_keys( $form_fields ), '' ), wp_list_pluck( $form_fields, 'default' ) );
		}
	}

	/** @return string */
	public function get_option_key() {
		return $this->plugin_id . $this->id . '_settings';
	}

	/**
	 * @param array $field Field.
	 * @return string
	 */
	public function get_field_type( $field ) {
		return empty( $field['type'] ) ? 'text' : $field['type'];
	}

	/**
	 * @param array $field Field.
	 * @return mixed
	 */
	public function get_field_default( $field ) {
		return empty( $field['default'] ) ? '' : $field['default'];
	}

	/**
	 * The posted value of a field, through validate_{key}_field,
	 * validate_{type}_field or validate_text_field, as WooCommerce does.
	 *
	 * @param string $key       Field key.
	 * @param array  $field     Field.
	 * @param array  $post_data Posted data.
	 * @return string
	 */
	public function get_field_value( $key, $field, $post_data = array() ) {
		$type      = $this->get_field_type( $field );
		$field_key = $this->get_field_key( $key );
		$post_data = empty( $post_data ) ? $_POST : $post_data; // phpcs:ignore WordPress.Security.NonceVerification
		$value     = isset( $post_data[ $field_key ] ) ? $post_data[ $field_key ] : null;
		if ( is_callable( array( $this, 'validate_' . $key . '_field' ) ) ) {
			return $this->{'validate_' . $key . '_field'}( $key, $value );
		}
		if ( is_callable( array( $this, 'validate_' . $type . '_field' ) ) ) {
			return $this->{'validate_' . $type . '_field'}( $key, $value );
		}
		return $this->validate_text_field( $key, $value );
	}

	/** @return array */
	public function get_post_data() {
		return ! empty( $this->data ) && is_array( $this->data ) ? $this->data : $_POST; // phpcs:ignore WordPress.Security.NonceVerification
	}

	/**
	 * Saves the posted settings (hooked by a gateway to
	 * woocommerce_update_options_payment_gateways_{id}).
	 *
	 * @return bool
	 */
	public function process_admin_options() {
		$this->init_settings();
		$post_data = $this->get_post_data();
		foreach ( $this->get_form_fields() as $key => $field ) {
			if ( 'title' !== $this->get_field_type( $field ) ) {
				try {
					$this->settings[ $key ] = $this->get_field_value( $key, $field, $post_data );
				} catch ( Exception $e ) {
					$this->errors[] = $e->getMessage();
				}
			}
		}
		return update_option( $this->get_option_key(), apply_filters( 'woocommerce_settings_api_sanitized_fields_' . $this->id, $this->settings ), 'yes' );
	}

	/**
	 * @param string $key         Option key.
	 * @param mixed  $empty_value Returned when the value is empty.
	 * @return mixed
	 */
	public function get_option( $key, $empty_value = null ) {
		if ( empty( $this->settings ) ) {
			$this->init_settings();
		}
		if ( ! isset( $this->settings[ $key ] ) ) {
			$form_fields            = $this->get_form_fields();
			$this->settings[ $key ] = isset( $form_fields[ $key ] ) ? $this->get_field_default( $form_fields[ $key ] ) : '';
		}
		if ( ! is_null( $empty_value ) && '' === $this->settings[ $key ] ) {
			$this->settings[ $key ] = $empty_value;
		}
		return $this->settings[ $key ];
	}

	/**
	 * @param string $key Field key.
	 * @return string The form field's name: woocommerce_{id}_{key}.
	 */
	public function get_field_key( $key ) {
		return $this->plugin_id . $this->id . '_' . $key;
	}

	/**
	 * Each field through generate_{type}_html when the class has it, else
	 * as a text field.
	 *
	 * @param array $form_fields Fields.
	 * @param bool  $echo        Echo or return.
	 * @return string
	 */
	public function generate_settings_html( $form_fields = array(), $echo = true ) {
		if ( empty( $form_fields ) ) {
			$form_fields = $this->get_form_fields();
		}
		$html = '';
		foreach ( $form_fields as $k => $v ) {
			$type = $this->get_field_type( $v );
			if ( method_exists( $this, 'generate_' . $type . '_html' ) ) {
				$html .= $this->{'generate_' . $type . '_html'}( $k, $v );
			} else {
				$html .= $this->generate_text_html( $k, $v );
			}
		}
		if ( $echo ) {
			echo $html; // phpcs:ignore WordPress.Security.EscapeOutput
		}
		return $html;
	}

	/**
	 * @param string $key  Field key.
	 * @param array  $data Field.
	 * @param string $input The input's HTML.
	 * @return string
	 */
	private function row( $key, $data, $input ) {
		$field = $this->get_field_key( $key );
		$desc  = isset( $data['description'] ) ? '<p class="description">' . wp_kses_post( $data['description'] ) . '</p>' : '';
		return '<tr valign="top"><th scope="row" class="titledesc"><label for="' . esc_attr( $field ) . '">' . wp_kses_post( isset( $data['title'] ) ? $data['title'] : '' ) .
			'</label></th><td class="forminp"><fieldset>' . $input . $desc . '</fieldset></td></tr>';
	}

	/**
	 * @param string $key  Field key.
	 * @param array  $data Field.
	 * @return string
	 */
	public function generate_text_html( $key, $data ) {
		$field = $this->get_field_key( $key );
		$type  = isset( $data['type'] ) && in_array( $data['type'], array( 'text', 'password', 'email', 'number' ), true ) ? $data['type'] : 'text';
		return $this->row( $key, $data, '<input class="input-text regular-input" type="' . esc_attr( $type ) . '" name="' . esc_attr( $field ) . '" id="' . esc_attr( $field ) . '" value="' . esc_attr( $this->get_option( $key ) ) . '" />' );
	}

	/**
	 * @param string $key  Field key.
	 * @param array  $data Field.
	 * @return string
	 */
	public function generate_password_html( $key, $data ) {
		$data['type'] = 'password';
		return $this->generate_text_html( $key, $data );
	}

	/**
	 * @param string $key  Field key.
	 * @param array  $data Field.
	 * @return string
	 */
	public function generate_textarea_html( $key, $data ) {
		$field = $this->get_field_key( $key );
		return $this->row( $key, $data, '<textarea rows="3" cols="20" class="input-text wide-input" name="' . esc_attr( $field ) . '" id="' . esc_attr( $field ) . '">' . esc_textarea( $this->get_option( $key ) ) . '</textarea>' );
	}

	/**
	 * @param string $key  Field key.
	 * @param array  $data Field.
	 * @return string
	 */
	public function generate_checkbox_html( $key, $data ) {
		$field = $this->get_field_key( $key );
		$label = isset( $data['label'] ) ? $data['label'] : '';
		return $this->row( $key, $data, '<label for="' . esc_attr( $field ) . '"><input type="checkbox" name="' . esc_attr( $field ) . '" id="' . esc_attr( $field ) . '" value="1" ' . checked( $this->get_option( $key ), 'yes', false ) . ' /> ' . wp_kses_post( $label ) . '</label>' );
	}

	/**
	 * @param string $key  Field key.
	 * @param array  $data Field.
	 * @return string
	 */
	public function generate_select_html( $key, $data ) {
		$field   = $this->get_field_key( $key );
		$options = '';
		foreach ( (array) ( isset( $data['options'] ) ? $data['options'] : array() ) as $k => $v ) {
			$options .= '<option value="' . esc_attr( $k ) . '" ' . selected( (string) $k, esc_attr( $this->get_option( $key ) ), false ) . '>' . esc_html( $v ) . '</option>';
		}
		return $this->row( $key, $data, '<select class="select" name="' . esc_attr( $field ) . '" id="' . esc_attr( $field ) . '">' . $options . '</select>' );
	}

	/**
	 * @param string $key   Field key.
	 * @param string $value Posted value.
	 * @return string
	 */
	public function validate_text_field( $key, $value ) {
		$value = is_null( $value ) ? '' : $value;
		return wp_kses_post( trim( stripslashes( $value ) ) );
	}

	/**
	 * @param string $key   Field key.
	 * @param string $value Posted value.
	 * @return string
	 */
	public function validate_password_field( $key, $value ) {
		$value = is_null( $value ) ? '' : $value;
		return trim( stripslashes( $value ) );
	}

	/**
	 * @param string $key   Field key.
	 * @param string $value Posted value.
	 * @return string
	 */
	public function validate_textarea_field( $key, $value ) {
		$value = is_null( $value ) ? '' : $value;
		return wp_kses( trim( stripslashes( $value ) ), array() );
	}

	/**
	 * @param string $key   Field key.
	 * @param string $value Posted value.
	 * @return string
	 */
	public function validate_checkbox_field( $key, $value ) {
		return ! is_null( $value ) ? 'yes' : 'no';
	}

	/**
	 * @param string $key   Field key.
	 * @param string $value Posted value.
	 * @return string
	 */
	public function validate_select_field( $key, $value ) {
		$value = is_null( $value ) ? '' : $value;
		return sanitize_text_field( stripslashes( $value ) );
	}
}

/**
 * WooCommerce's base class of payment gateways.
 */
abstract class WC_Payment_Gateway extends WC_Settings_API {
	/** @var string 'yes' or 'no'. */
	public $enabled = 'yes';
	/** @var string */
	public $title;
	/** @var string */
	public $description;
	/** @var string */
	public $method_title = '';
	/** @var string */
	public $method_description = '';
	/** @var bool */
	public $has_fields;
	/** @var array */
	public $supports = array( 'products' );

	/** Loads the settings and whether the gateway is enabled. */
	public function init_settings() {
		parent::init_settings();
		$this->enabled = ! empty( $this->settings['enabled'] ) && 'yes' === $this->settings['enabled'] ? 'yes' : 'no';
	}

	/** @return string */
	public function get_title() {
		return apply_filters( 'woocommerce_gateway_title', $this->title, $this->id );
	}

	/** @return string */
	public function get_method_title() {
		return apply_filters( 'woocommerce_gateway_method_title', $this->method_title, $this );
	}

	/** @return string */
	public function get_method_description() {
		return apply_filters( 'woocommerce_gateway_method_description', $this->method_description, $this );
	}

	/** @return bool */
	public function is_available() {
		return 'yes' === $this->enabled;
	}

	/**
	 * @param WC_Order|null $order The order.
	 * @return string The thank-you page of the order.
	 */
	public function get_return_url( $order = null ) {
		$url = $order ? $order->get_checkout_order_received_url() : home_url( '/checkout/order-received/' );
		return apply_filters( 'woocommerce_get_return_url', $url, $order );
	}

	/**
	 * @param string $feature e.g. refunds.
	 * @return bool
	 */
	public function supports( $feature ) {
		return apply_filters( 'woocommerce_payment_gateway_supports', in_array( $feature, $this->supports, true ), $feature, $this );
	}

	/**
	 * @param WC_Order $order The order.
	 * @return bool
	 */
	public function can_refund_order( $order ) {
		return $order && $this->supports( 'refunds' );
	}

	/**
	 * @param int $order_id The order.
	 * @return array
	 */
	public function process_payment( $order_id ) {
		return array();
	}

	/**
	 * @param int        $order_id The order.
	 * @param float|null $amount   Amount.
	 * @param string     $reason   Reason.
	 * @return bool|WP_Error
	 */
	public function process_refund( $order_id, $amount = null, $reason = '' ) {
		return false;
	}
}

/**
 * The gateways the shop has: the classes named by the
 * woocommerce_payment_gateways filter, one object each, keyed by id.
 */
class WC_Payment_Gateways {
	/** @var WC_Payment_Gateway[] */
	public $payment_gateways = array();

	/** Instantiates the gateways. */
	public function init() {
		foreach ( apply_filters( 'woocommerce_payment_gateways', array() ) as $gateway ) {
			$gateway                                  = is_string( $gateway ) ? new $gateway() : $gateway;
			$this->payment_gateways[ $gateway->id ] = $gateway;
		}
	}

	/** @return WC_Payment_Gateway[] */
	public function payment_gateways() {
		return $this->payment_gateways;
	}

	/** @return WC_Payment_Gateway[] */
	public function get_available_payment_gateways() {
		return array_filter(
			$this->payment_gateways,
			function ( $g ) {
				return $g->is_available();
			}
		);
	}
}

/** What WC() returns: here only the gateways. */
final class WooCommerce_Stand_In {
	/** @var WC_Payment_Gateways|null */
	private $gateways;

	/**
	 * @param string $name payment_gateways.
	 * @return mixed
	 */
	public function __get( $name ) {
		if ( 'payment_gateways' === $name ) {
			return $this->payment_gateways();
		}
		return null;
	}

	/** @return WC_Payment_Gateways */
	public function payment_gateways() {
		if ( null === $this->gateways ) {
			$this->gateways = new WC_Payment_Gateways();
			$this->gateways->init();
		}
		return $this->gateways;
	}
}

/** @return WooCommerce_Stand_In */
function WC() { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName
	static $wc = null;
	if ( null === $wc ) {
		$wc = new WooCommerce_Stand_In();
	}
	return $wc;
}

/**
 * An order, stored as WooCommerce's classic storage does: a post of type
 * shop_order, its data in post meta (_order_total, _billing_email, …).
 * As in WooCommerce, set_* and update_meta_data change the object only;
 * save() writes them (and creates the post of a new object).
 */
class WC_Order {
	/** @var string The post type. */
	const POST_TYPE = 'shop_order';
	/** @var int 0 until saved. */
	protected $id = 0;
	/** @var int */
	protected $parent_id = 0;
	/** @var array Meta key => value not saved yet. */
	protected $changes = array();

	/** @param int $id The post id; 0 for a new object. */
	public function __construct( $id = 0 ) {
		$this->id = (int) $id;
		if ( $this->id ) {
			$this->parent_id = (int) wp_get_post_parent_id( $this->id );
		}
	}

	/** @return int */
	public function get_id() {
		return $this->id;
	}

	/** @return int */
	public function get_parent_id() {
		return $this->parent_id;
	}

	/** @param int $id The parent order. */
	public function set_parent_id( $id ) {
		$this->parent_id = (int) $id;
	}

	/**
	 * @param string $key Meta key.
	 * @return string
	 */
	protected function prop( $key ) {
		if ( array_key_exists( $key, $this->changes ) ) {
			return (string) $this->changes[ $key ];
		}
		return $this->id ? (string) get_post_meta( $this->id, $key, true ) : '';
	}

	/** @return string e.g. pending, without WooCommerce's wc- prefix. */
	public function get_status() {
		return preg_replace( '/^wc-/', '', (string) get_post_status( $this->id ) );
	}

	/** @return string The total as WooCommerce stores it: a decimal string. */
	public function get_total() {
		return $this->prop( '_order_total' );
	}

	/** @return string */
	public function get_currency() {
		return $this->prop( '_order_currency' );
	}

	/** @param string $currency ISO 4217. */
	public function set_currency( $currency ) {
		$this->changes['_order_currency'] = $currency;
	}

	/** @return string */
	public function get_order_key() {
		return $this->prop( '_order_key' );
	}

	/** @return string */
	public function get_payment_method() {
		return $this->prop( '_payment_method' );
	}

	/** @return int */
	public function get_customer_id() {
		return (int) $this->prop( '_customer_user' );
	}

	/** @return string */
	public function get_billing_first_name() {
		return $this->prop( '_billing_first_name' );
	}

	/** @return string */
	public function get_billing_last_name() {
		return $this->prop( '_billing_last_name' );
	}

	/** @return string */
	public function get_billing_email() {
		return $this->prop( '_billing_email' );
	}

	/** @return string */
	public function get_billing_country() {
		return $this->prop( '_billing_country' );
	}

	/** @return string */
	public function get_billing_phone() {
		return $this->prop( '_billing_phone' );
	}

	/**
	 * @param string $key     Meta key.
	 * @param bool   $single  One value.
	 * @param string $context view or edit.
	 * @return mixed
	 */
	public function get_meta( $key = '', $single = true, $context = 'view' ) {
		return $this->prop( $key );
	}

	/**
	 * @param string $key   Meta key.
	 * @param mixed  $value Value.
	 */
	public function update_meta_data( $key, $value ) {
		$this->changes[ $key ] = $value;
	}

	/** @return int The id, after writing the changes. */
	public function save() {
		if ( ! $this->id ) {
			$id = wp_insert_post(
				array(
					'post_type'   => static::POST_TYPE,
					'post_parent' => $this->parent_id,
					'post_status' => 'shop_order_refund' === static::POST_TYPE ? 'wc-completed' : 'wc-pending',
					'post_title'  => static::POST_TYPE,
				),
				true
			);
			if ( is_wp_error( $id ) ) {
				return 0;
			}
			$this->id = (int) $id;
		}
		foreach ( $this->changes as $k => $v ) {
			update_post_meta( $this->id, $k, $v );
		}
		$this->changes = array();
		return $this->id;
	}

	/**
	 * @param bool $force_delete Skip the trash.
	 * @return bool
	 */
	public function delete( $force_delete = false ) {
		return (bool) wp_delete_post( $this->id, true );
	}

	/** @return string The thank-you page: /checkout/order-received/{id}/?key=… */
	public function get_checkout_order_received_url() {
		return apply_filters( 'woocommerce_get_checkout_order_received_url', add_query_arg( 'key', $this->get_order_key(), home_url( '/checkout/order-received/' . $this->id . '/' ) ), $this );
	}

	/**
	 * @param string $redirect Where to go after cancelling.
	 * @return string The unescaped cancel link.
	 */
	public function get_cancel_order_url_raw( $redirect = '' ) {
		return apply_filters(
			'woocommerce_get_cancel_order_url_raw',
			add_query_arg(
				array(
					'cancel_order' => 'true',
					'order'        => $this->get_order_key(),
					'order_id'     => $this->id,
					'redirect'     => $redirect,
					'_wpnonce'     => wp_create_nonce( 'woocommerce-cancel_order' ),
				),
				home_url( '/cart/' )
			)
		);
	}

	/**
	 * The order's refunds, newest first (WooCommerce: wc_get_orders with
	 * type shop_order_refund and this parent, ordered by date desc).
	 *
	 * @return WC_Order_Refund[]
	 */
	public function get_refunds() {
		$ids = get_posts(
			array(
				'post_type'   => 'shop_order_refund',
				'post_parent' => $this->id,
				'post_status' => 'wc-completed', // a refund's only status in WooCommerce
				'numberposts' => -1,
				'orderby'     => array(
					'date' => 'DESC',
					'ID'   => 'DESC',
				),
				'fields'      => 'ids',
			)
		);
		return array_map(
			function ( $id ) {
				return new WC_Order_Refund( $id );
			},
			$ids
		);
	}

	/**
	 * @param string $new_status e.g. failed.
	 * @param string $note       Order note.
	 * @param bool   $manual     Set by an admin.
	 * @return bool
	 */
	public function update_status( $new_status, $note = '', $manual = false ) {
		$this->save();
		wp_update_post(
			array(
				'ID'          => $this->id,
				'post_status' => 'wc-' . $new_status,
			)
		);
		if ( '' !== $note ) {
			$this->add_order_note( $note );
		}
		return true;
	}

	/**
	 * Order notes are comments of type order_note, as in WooCommerce.
	 *
	 * @param string $note              The note.
	 * @param int    $is_customer_note  For the shopper too.
	 * @param bool   $added_by_user     Written by the admin.
	 * @return int
	 */
	public function add_order_note( $note, $is_customer_note = 0, $added_by_user = false ) {
		return (int) wp_insert_comment(
			array(
				'comment_post_ID'  => $this->id,
				'comment_content'  => $note,
				'comment_type'     => 'order_note',
				'comment_approved' => 1,
				'comment_agent'    => 'WooCommerce',
			)
		);
	}

	/** @return string[] The order's notes, oldest first. */
	public function stand_in_notes() {
		return wp_list_pluck(
			get_comments(
				array(
					'post_id' => $this->id,
					'type'    => 'order_note',
					'orderby' => 'comment_ID',
					'order'   => 'ASC',
				)
			),
			'comment_content'
		);
	}
}

/** A refund: a post of type shop_order_refund below its order. */
class WC_Order_Refund extends WC_Order {
	/** @var string The post type. */
	const POST_TYPE = 'shop_order_refund';

	/** @return string */
	public function get_amount() {
		return $this->prop( '_refund_amount' );
	}

	/** @param string $amount Decimal string. */
	public function set_amount( $amount ) {
		$this->changes['_refund_amount'] = $amount;
	}

	/** @return string */
	public function get_reason() {
		return $this->prop( '_refund_reason' );
	}

	/** @param string $reason The admin's reason. */
	public function set_reason( $reason ) {
		$this->changes['_refund_reason'] = (string) $reason;
	}

	/** @param bool $refunded Whether the gateway moved the money. */
	public function set_refunded_payment( $refunded ) {
		$this->changes['_refunded_payment'] = $refunded ? '1' : '';
	}
}

/**
 * @param mixed $the_order An order id.
 * @return WC_Order|false
 */
function wc_get_order( $the_order = false ) {
	$id = is_object( $the_order ) && method_exists( $the_order, 'get_id' ) ? $the_order->get_id() : absint( $the_order );
	return $id && 'shop_order' === get_post_type( $id ) ? new WC_Order( $id ) : false;
}

/** @return int */
function wc_get_price_decimals() {
	return absint( apply_filters( 'wc_get_price_decimals', get_option( 'woocommerce_price_num_decimals', 2 ) ) );
}

/**
 * WooCommerce's wc_format_decimal for the dot-decimal shop the tests set
 * up (no thousand separators to strip): with $dp it rounds like
 * number_format, as WooCommerce does.
 *
 * @param float|string $number     The number.
 * @param int|false    $dp         Decimals, or false to leave them.
 * @param bool         $trim_zeros Trim trailing zeros.
 * @return string
 */
function wc_format_decimal( $number, $dp = false, $trim_zeros = false ) {
	$number = null === $number ? '' : $number;
	if ( is_float( $number ) ) {
		$number = rtrim( rtrim( sprintf( '%.14F', $number ), '0' ), '.' );
	}
	$number = (string) $number;
	if ( false !== $dp && '' !== $number ) {
		$dp     = intval( '' === $dp ? wc_get_price_decimals() : $dp );
		$number = number_format( floatval( $number ), $dp, '.', '' );
	}
	if ( $trim_zeros && false !== strpos( $number, '.' ) ) {
		$number = rtrim( rtrim( $number, '0' ), '.' );
	}
	return $number;
}

/**
 * The notices of this request (WooCommerce keeps them in the session).
 *
 * @param string $message     Text.
 * @param string $notice_type success, error or notice.
 * @param array  $data        Extra data.
 */
function wc_add_notice( $message, $notice_type = 'success', $data = array() ) {
	$GLOBALS['wc_stand_in_notices'][] = array(
		'type'   => $notice_type,
		'notice' => $message,
	);
}

/**
 * wc_create_refund reduced to the money, in WooCommerce's order: the
 * refund object is filled, woocommerce_create_refund fires with it unsaved,
 * it is saved, then with refund_payment the gateway is asked
 * (wc_refund_payment) and the refund deleted again when that fails;
 * woocommerce_refund_created and woocommerce_order_refunded fire last.
 *
 * @param array $args amount, reason, order_id, refund_payment.
 * @return WC_Order_Refund|WP_Error
 */
function wc_create_refund( $args = array() ) {
	$args  = wp_parse_args(
		$args,
		array(
			'amount'         => 0,
			'reason'         => null,
			'order_id'       => 0,
			'refund_id'      => 0,
			'line_items'     => array(),
			'refund_payment' => false,
			'restock_items'  => false,
		)
	);
	$order = wc_get_order( $args['order_id'] );
	if ( ! $order ) {
		return new WP_Error( 'error', 'Invalid order ID.' );
	}
	$amount = wc_format_decimal( $args['amount'], wc_get_price_decimals() );
	if ( 0 >= (float) $amount ) {
		return new WP_Error( 'error', 'Invalid refund amount.' );
	}
	$refund = new WC_Order_Refund();
	$refund->set_currency( $order->get_currency() );
	$refund->set_amount( $amount );
	$refund->set_parent_id( absint( $args['order_id'] ) );
	$refund->set_reason( (string) $args['reason'] );
	do_action( 'woocommerce_create_refund', $refund, $args );
	if ( ! $refund->save() ) {
		return new WP_Error( 'error', 'Could not save the refund.' );
	}
	if ( $args['refund_payment'] ) {
		$result = wc_refund_payment( $order, $refund->get_amount(), $refund->get_reason() );
		if ( is_wp_error( $result ) ) {
			$refund->delete();
			return $result;
		}
		$refund->set_refunded_payment( true );
		$refund->save();
	}
	do_action( 'woocommerce_refund_created', $refund->get_id(), $args );
	do_action( 'woocommerce_order_refunded', $order->get_id(), $refund->get_id() );
	return $refund;
}

/**
 * @param WC_Order $order  The order.
 * @param string   $amount Amount.
 * @param string   $reason Reason.
 * @return bool|WP_Error
 */
function wc_refund_payment( $order, $amount, $reason = '' ) {
	$gateways = WC()->payment_gateways->payment_gateways();
	$method   = $order->get_payment_method();
	$gateway  = isset( $gateways[ $method ] ) ? $gateways[ $method ] : null;
	if ( ! $gateway ) {
		return new WP_Error( 'wc-order', 'The payment gateway for this order does not exist.' );
	}
	if ( ! $gateway->can_refund_order( $order ) ) {
		return new WP_Error( 'wc-order', 'The payment gateway for this order does not support automatic refunds.' );
	}
	$result = $gateway->process_refund( $order->get_id(), $amount, $reason );
	if ( ! $result ) {
		return new WP_Error( 'wc-order', 'An error occurred while attempting to create the refund using the payment gateway API.' );
	}
	if ( is_wp_error( $result ) ) {
		return $result;
	}
	return true;
}

/** The order post types and their statuses, and WooCommerce's capabilities for the administrator. */
add_action(
	'init',
	function () {
		register_post_type(
			'shop_order',
			array(
				'public'   => false,
				'show_ui'  => true,
				'label'    => 'Orders',
				'supports' => array( 'title' ),
			)
		);
		register_post_type(
			'shop_order_refund',
			array(
				'public'       => false,
				'label'        => 'Refunds',
				'hierarchical' => false,
			)
		);
		foreach ( array( 'pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded', 'failed' ) as $s ) {
			register_post_status( 'wc-' . $s, array( 'internal' => true ) );
		}
		$admin = get_role( 'administrator' );
		if ( $admin && ! $admin->has_cap( 'edit_shop_orders' ) ) {
			$admin->add_cap( 'manage_woocommerce' );
			$admin->add_cap( 'edit_shop_orders' );
		}
	}
);

/**
 * WooCommerce loads before other plugins' plugins_loaded callbacks at
 * priority 11; the stand-in is a must-use plugin, so it is loaded anyway.
 */
add_action(
	'plugins_loaded',
	function () {
		do_action( 'woocommerce_loaded' );
	},
	10
);

/**
 * WooCommerce → Settings → Payments → a gateway:
 * wp-admin/admin.php?page=wc-settings&tab=checkout&section={id}. Saving
 * checks the woocommerce-settings nonce and fires
 * woocommerce_update_options_payment_gateways_{id}, as WC_Admin_Settings
 * and WC_Settings_Payment_Gateways do.
 */
add_action(
	'admin_menu',
	function () {
		add_menu_page( 'WooCommerce', 'WooCommerce', 'manage_woocommerce', 'woocommerce', '__return_null' );
		$hook = add_submenu_page( 'woocommerce', 'Settings', 'Settings', 'manage_woocommerce', 'wc-settings', 'wc_stand_in_settings_page' );
		add_action(
			'load-' . $hook,
			function () {
				$gateways = WC()->payment_gateways->payment_gateways();
				$section  = isset( $_GET['section'] ) ? sanitize_title( wp_unslash( $_GET['section'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification
				if ( ! empty( $_POST['save'] ) && isset( $gateways[ $section ] ) ) {
					check_admin_referer( 'woocommerce-settings' );
					do_action( 'woocommerce_update_options_payment_gateways_' . $section );
					$GLOBALS['wc_stand_in_saved'] = true;
				}
			}
		);
	}
);

/** The settings page's body. */
function wc_stand_in_settings_page() {
	$gateways = WC()->payment_gateways->payment_gateways();
	$section  = isset( $_GET['section'] ) ? sanitize_title( wp_unslash( $_GET['section'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification
	echo '<div class="wrap woocommerce"><form method="post" id="mainform" action="" enctype="multipart/form-data">';
	if ( ! empty( $GLOBALS['wc_stand_in_saved'] ) ) {
		echo '<div id="message" class="updated inline"><p><strong>Your settings have been saved.</strong></p></div>';
	}
	if ( isset( $gateways[ $section ] ) ) {
		$gateway = $gateways[ $section ];
		echo '<h2>' . esc_html( $gateway->get_method_title() ) . '</h2>';
		echo wp_kses_post( wpautop( $gateway->get_method_description() ) );
		$gateway->admin_options();
	} else {
		echo '<p>No such payment method.</p>';
	}
	echo '<p class="submit"><button name="save" class="button-primary" type="submit" value="Save changes">Save changes</button>';
	wp_nonce_field( 'woocommerce-settings' );
	echo '</p></form></div>';
}

/**
 * The checkout's AJAX endpoint (/?wc-ajax=checkout): makes the order, then
 * does what WC_Checkout::process_order_payment does: the chosen gateway's
 * process_payment, and on success its answer with the order id as JSON; on
 * failure {result: failure, messages: the notices' HTML}.
 */
add_action(
	'template_redirect',
	function () {
		if ( ! isset( $_GET['wc-ajax'] ) || 'checkout' !== $_GET['wc-ajax'] ) { // phpcs:ignore WordPress.Security.NonceVerification
			return;
		}
		// phpcs:disable WordPress.Security.NonceVerification
		$post     = wp_unslash( $_POST );
		$method   = isset( $post['payment_method'] ) ? sanitize_text_field( $post['payment_method'] ) : '';
		$gateways = WC()->payment_gateways->get_available_payment_gateways();
		if ( ! isset( $gateways[ $method ] ) ) {
			wp_send_json(
				array(
					'result'   => 'failure',
					'messages' => '<ul class="woocommerce-error"><li>Invalid payment method.</li></ul>',
				)
			);
		}
		$order = new WC_Order();
		$meta  = array(
			'_order_key'          => 'wc_order_' . wp_generate_password( 13, false ),
			'_order_total'        => wc_format_decimal( isset( $post['stand_in_total'] ) ? $post['stand_in_total'] : '0', wc_get_price_decimals() ),
			'_order_currency'     => isset( $post['stand_in_currency'] ) ? sanitize_text_field( $post['stand_in_currency'] ) : 'SEK',
			'_payment_method'     => $method,
			'_customer_user'      => get_current_user_id(),
			'_billing_first_name' => isset( $post['billing_first_name'] ) ? sanitize_text_field( $post['billing_first_name'] ) : '',
			'_billing_last_name'  => isset( $post['billing_last_name'] ) ? sanitize_text_field( $post['billing_last_name'] ) : '',
			'_billing_email'      => isset( $post['billing_email'] ) ? sanitize_email( $post['billing_email'] ) : '',
			'_billing_country'    => isset( $post['billing_country'] ) ? sanitize_text_field( $post['billing_country'] ) : '',
			'_billing_phone'      => isset( $post['billing_phone'] ) ? sanitize_text_field( $post['billing_phone'] ) : '',
		);
		// phpcs:enable WordPress.Security.NonceVerification
		foreach ( $meta as $k => $v ) {
			$order->update_meta_data( $k, $v );
		}
		$order_id = $order->save();
		$result   = $gateways[ $method ]->process_payment( $order_id );
		if ( isset( $result['result'] ) && 'success' === $result['result'] ) {
			$result['order_id'] = $order_id;
			wp_send_json( apply_filters( 'woocommerce_payment_successful_result', $result, $order_id ) );
		}
		$messages = '';
		foreach ( isset( $GLOBALS['wc_stand_in_notices'] ) ? $GLOBALS['wc_stand_in_notices'] : array() as $n ) {
			$messages .= '<li>' . wp_kses_post( $n['notice'] ) . '</li>';
		}
		wp_send_json(
			array(
				'result'   => 'failure',
				'messages' => '<ul class="woocommerce-error" role="alert">' . $messages . '</ul>',
				'order_id' => $order_id,
			)
		);
	},
	0
);

/**
 * The admin's refund (admin-ajax.php, action woocommerce_refund_line_items),
 * as WC_AJAX::refund_line_items: the order-item nonce, edit_shop_orders,
 * wc_create_refund with refund_payment when api_refund is "true", and
 * {success:false, data:{error}} when it fails.
 */
add_action(
	'wp_ajax_woocommerce_refund_line_items',
	function () {
		check_ajax_referer( 'order-item', 'security' );
		if ( ! current_user_can( 'edit_shop_orders' ) ) {
			wp_die( -1 );
		}
		$post = wp_unslash( $_POST );
		try {
			$refund = wc_create_refund(
				array(
					'amount'         => wc_format_decimal( sanitize_text_field( $post['refund_amount'] ), wc_get_price_decimals() ),
					'reason'         => isset( $post['refund_reason'] ) ? sanitize_text_field( $post['refund_reason'] ) : '',
					'order_id'       => absint( $post['order_id'] ),
					'refund_payment' => isset( $post['api_refund'] ) && 'true' === $post['api_refund'],
				)
			);
			if ( is_wp_error( $refund ) ) {
				throw new Exception( $refund->get_error_message() );
			}
			wp_send_json_success( array() );
		} catch ( Exception $e ) {
			wp_send_json_error( array( 'error' => $e->getMessage() ) );
		}
	}
);

/**
 * The order's edit screen (post.php?post={id}&action=edit): the refund
 * button WooCommerce shows only when the gateway can refund the order
 * ("Refund … via {gateway title}"), and the order-item nonce its script
 * gets (woocommerce_admin_meta_boxes.order_item_nonce).
 */
add_action(
	'add_meta_boxes_shop_order',
	function ( $post ) {
		add_meta_box(
			'woocommerce-order-items',
			'Items',
			function ( $post ) {
				$order    = wc_get_order( $post->ID );
				$gateways = WC()->payment_gateways->payment_gateways();
				$gateway  = isset( $gateways[ $order->get_payment_method() ] ) ? $gateways[ $order->get_payment_method() ] : null;
				echo '<p class="order-status">' . esc_html( $order->get_status() ) . '</p>';
				foreach ( $order->get_refunds() as $refund ) {
					echo '<p class="refund">' . esc_html( $refund->get_amount() . ' ' . $refund->get_reason() ) . '</p>';
				}
				foreach ( $order->stand_in_notes() as $note ) {
					echo '<p class="note">' . esc_html( $note ) . '</p>';
				}
				if ( $gateway && $gateway->can_refund_order( $order ) ) {
					echo '<button type="button" class="button button-primary do-api-refund">' . esc_html( sprintf( 'Refund via %s', $gateway->get_title() ) ) . '</button>';
				}
				echo '<button type="button" class="button button-primary do-manual-refund">Refund manually</button>';
				echo '<script>var woocommerce_admin_meta_boxes = ' . wp_json_encode( array( 'order_item_nonce' => wp_create_nonce( 'order-item' ) ) ) . ';</script>';
			},
			'shop_order',
			'normal',
			'high'
		);
	}
);
