<?php
/**
 * Plugin Name: No mail (trustly-sidecar tests only)
 * Description: The test machines have no sendmail; WordPress's mails (the new-site mail of the install) are dropped instead of failing in PHP's mail().
 *
 * @package TrustlySidecarTests
 */

defined( 'ABSPATH' ) || exit;

add_filter( 'pre_wp_mail', '__return_false' );
