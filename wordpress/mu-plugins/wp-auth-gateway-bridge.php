<?php
/**
 * Plugin Name: wp-auth-gateway bridge
 * Description: Lets WordPress act only on what wp-auth-gateway authorised, and does for the gateway what only WordPress can (password checks, users, registration and password reset, events).
 * Version: 3
 *
 * The only code of wp-auth-gateway that runs inside WordPress: a must-use
 * plugin. Copy this file and the folder wp-auth-gateway-bridge/ beside it
 * into wp-content/mu-plugins/ (docs/architecture.md, "The bridge").
 *
 * Settings, each read from the PHP constant of that name if defined, else
 * from the environment:
 *   BRIDGE_SECRET                 HS256 key shared with the gateway, >= 32 bytes.
 *   BRIDGE_SECRET_FILE            or a file holding it (a Docker secret), read by the bridge alone.
 *   WP_AUTH_GATEWAY_URL           Base URL at which WordPress reaches the gateway: events go
 *                                 there, and so do WordPress's requests to itself.
 *   WP_GATEWAY_REQUIRE_ASSERTION  On unless set to false/"0"/"false"/"off": every REST
 *                                 dispatch needs the gateway's assertion for exactly that
 *                                 method and route. Turn it off only for a site that is
 *                                 also served without the gateway in front (README, "Security").
 *
 * @package wp-auth-gateway
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-settings.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-jws.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-assertion.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-rest-guard.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-cookie.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-routes.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-accounts.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-events.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-loopback.php';
require_once __DIR__ . '/wp-auth-gateway-bridge/class-wpag-bridge.php';

WPAG_Bridge::add_hooks();
