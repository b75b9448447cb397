<?php
/**
 * Plugin Name: wp-auth-gateway bridge
 * Description: Trusts the signed assertion of wp-auth-gateway and offers the gateway's internal REST routes.
 *
 * The only code of wp-auth-gateway that runs inside WordPress (a must-use
 * plugin: copy or link it into wp-content/mu-plugins/). See DESIGN.md §3–§4.
 *
 * It reads, each from the PHP constant of that name if defined, else from the
 * environment (getenv):
 *   BRIDGE_SECRET                 HS256 key shared with the gateway, >= 32 bytes.
 *                                 Missing or shorter: no assertion is trusted.
 *   WP_AUTH_GATEWAY_URL           Base URL of the gateway, where events are sent.
 *                                 Missing (or no usable BRIDGE_SECRET): no events.
 *   WP_GATEWAY_REQUIRE_ASSERTION  "1"/"true"/true: every REST request without a
 *                                 valid assertion gets 401.
 *
 * What it does:
 *   - verifies the X-WP-Gateway-Assertion header (compact JWS, HS256);
 *   - sets the current user from its `sub` (determine_current_user);
 *   - answers 401 to REST requests with an invalid assertion (or none, when
 *     required), and 403 when WordPress is about to dispatch a different route
 *     or method than the gateway authorised (`rte`/`mth`);
 *   - applies the gateway's route rules for embedded sub-requests (`_embed`),
 *     sent as the optional `emb` claim, to every internal dispatch;
 *   - leaves cookie-authenticated requests (`via` = "cookie") to WordPress's own
 *     nonce check, and refuses them when WordPress did not see the login cookie;
 *   - registers /wp-json/gateway-bridge/v1/{authenticate,users/<id>,cookie} for
 *     the gateway itself (assertion `via` = "gateway");
 *   - tells the gateway at once (POST <WP_AUTH_GATEWAY_URL>/_gateway/events,
 *     signed the same way) when a user's password or roles change, the user is
 *     deleted or logs out, so that it can revoke that user's tokens.
 *
 * @package wp-auth-gateway
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

const WPAG_ISSUER         = 'wp-auth-gateway';
const WPAG_AUDIENCE       = 'wordpress-bridge';
const WPAG_HEADER_KEY     = 'HTTP_X_WP_GATEWAY_ASSERTION';
const WPAG_MAX_LIFETIME   = 30; // Seconds between iat and exp (DESIGN.md §3).
const WPAG_CLOCK_SKEW     = 5;  // Seconds an iat may lie in the future.
const WPAG_MIN_SECRET_LEN = 32; // Bytes.
const WPAG_NAMESPACE      = 'gateway-bridge/v1';
const WPAG_EVENTS_ROUTE   = '/_gateway/events';
const WPAG_EVENT_TIMEOUT  = 2;  // Seconds; events block the WordPress request that caused them.
const WPAG_EMB_MAX_RULES  = 200;  // Rules in the `emb` claim.
const WPAG_MAX_COOKIE_LEN = 8192; // Bytes of a Cookie header sent to /cookie.
const WPAG_MAX_NONCE_LEN  = 64;   // Bytes of an X-WP-Nonce sent to /cookie.
// User meta: a keyed fingerprint of the last password hash seen (see wpag_password_fingerprint()).
const WPAG_FINGERPRINT_META = 'wpag_password_fingerprint';

/*
 * A phpass hash of a random throwaway password. Checked against when the login
 * names no user, so that "unknown user" costs the same hashing time as "wrong
 * password" and timing does not tell whether a user exists.
 */
const WPAG_DUMMY_HASH = '$P$B7OmgOufaN5yUOb7Tn5JKUE2bSjrX1.';

/* ------------------------------------------------------------------------- *
 * Configuration
 * ------------------------------------------------------------------------- */

/**
 * Reads a setting from the constant of that name, else from the environment.
 *
 * @param string $name Constant / environment variable name.
 * @return mixed|null The value, or null when neither is set.
 */
function wpag_setting( $name ) {
	if ( defined( $name ) ) {
		return constant( $name );
	}
	$value = getenv( $name );
	return false === $value ? null : $value;
}

/**
 * The shared HS256 key, or null when it is missing or too short to be trusted.
 *
 * @return string|null
 */
function wpag_secret() {
	$secret = wpag_setting( 'BRIDGE_SECRET' );
	if ( ! is_string( $secret ) || strlen( $secret ) < WPAG_MIN_SECRET_LEN ) {
		return null;
	}
	return $secret;
}

/**
 * The gateway's base URL (without trailing slash), or null. Used by events.
 *
 * @return string|null
 */
function wpag_gateway_url() {
	$url = wpag_setting( 'WP_AUTH_GATEWAY_URL' );
	return ( is_string( $url ) && '' !== $url ) ? untrailingslashit( $url ) : null;
}

/**
 * Whether events are to be sent: a gateway URL and a usable secret to sign with.
 *
 * @return bool
 */
function wpag_events_enabled() {
	return null !== wpag_gateway_url() && null !== wpag_secret();
}

/**
 * Whether every REST request must carry a valid assertion.
 *
 * @return bool
 */
function wpag_require_assertion() {
	$value = wpag_setting( 'WP_GATEWAY_REQUIRE_ASSERTION' );
	if ( true === $value || 1 === $value ) {
		return true;
	}
	return is_string( $value ) && in_array( strtolower( trim( $value ) ), array( '1', 'true' ), true );
}

/* ------------------------------------------------------------------------- *
 * The assertion
 * ------------------------------------------------------------------------- */

/**
 * Encodes as unpadded base64url (RFC 7515).
 *
 * @param string $data Bytes.
 * @return string
 */
function wpag_base64url_encode( $data ) {
	return rtrim( strtr( base64_encode( $data ), '+/', '-_' ), '=' );
}

/**
 * Decodes strict, unpadded base64url; false on any other input.
 *
 * @param string $part One JWS segment.
 * @return string|false
 */
function wpag_base64url_decode( $part ) {
	if ( '' === $part || ! preg_match( '/^[A-Za-z0-9_-]+$/', $part ) ) {
		return false;
	}
	return base64_decode( strtr( $part, '-_', '+/' ), true );
}

/**
 * Verifies a compact JWS and returns its claims, or null when anything is off.
 *
 * @param string      $token  The compact JWS.
 * @param string|null $secret The HS256 key (null: nothing is trusted).
 * @param int         $now    Current Unix time.
 * @return array|null
 */
function wpag_verify_assertion( $token, $secret, $now ) {
	if ( null === $secret || ! is_string( $token ) || strlen( $token ) > 8192 ) {
		return null;
	}
	$parts = explode( '.', $token );
	if ( 3 !== count( $parts ) ) {
		return null;
	}
	list( $header_b64, $payload_b64, $signature_b64 ) = $parts;

	$header_json = wpag_base64url_decode( $header_b64 );
	$payload_json = wpag_base64url_decode( $payload_b64 );
	if ( false === $header_json || false === $payload_json ) {
		return null;
	}

	$header = json_decode( $header_json, true );
	// Exactly HS256: no "none", no case variants, no algorithm confusion.
	if ( ! is_array( $header ) || ! isset( $header['alg'] ) || 'HS256' !== $header['alg'] ) {
		return null;
	}

	// Compare the canonical encoding, so that no second spelling of a signature
	// (different unused low bits in the last base64url character) is accepted.
	$expected = wpag_base64url_encode( hash_hmac( 'sha256', $header_b64 . '.' . $payload_b64, $secret, true ) );
	if ( ! hash_equals( $expected, $signature_b64 ) ) {
		return null;
	}

	$claims = json_decode( $payload_json, true );
	if ( ! is_array( $claims ) || ! wpag_claims_valid( $claims, $now ) ) {
		return null;
	}
	if ( array_key_exists( 'emb', $claims ) ) {
		// Decoded again without `assoc`: only then do a JSON object and a JSON
		// list stay apart ({} and [] both become array() otherwise).
		$payload = json_decode( $payload_json );
		$emb = is_object( $payload ) && property_exists( $payload, 'emb' ) ? wpag_parse_emb( $payload->emb ) : null;
		if ( null === $emb ) {
			return null; // A malformed policy makes the whole assertion invalid.
		}
		$claims['emb'] = $emb;
	}
	return $claims;
}

/**
 * Validates the `emb` claim – the gateway's rules for embedded sub-requests:
 * {"r": [[pattern, allow], ...], "d": default}, patterns starting with "/",
 * allow and default 0 or 1, at most WPAG_EMB_MAX_RULES rules, no other keys.
 *
 * @param mixed $emb The claim, decoded with objects as stdClass.
 * @return array|null array( 'r' => array( array( pattern, bool ), ... ), 'd' => bool ), or null when malformed.
 */
function wpag_parse_emb( $emb ) {
	if ( ! $emb instanceof stdClass ) {
		return null;
	}
	$keys = array_keys( get_object_vars( $emb ) );
	sort( $keys );
	if ( array( 'd', 'r' ) !== $keys || ! is_array( $emb->r ) || count( $emb->r ) > WPAG_EMB_MAX_RULES
		|| ! wpag_is_bit( $emb->d ) ) {
		return null;
	}
	$rules = array();
	foreach ( $emb->r as $rule ) {
		if ( ! is_array( $rule ) || 2 !== count( $rule )
			|| ! is_string( $rule[0] ) || 0 !== strpos( $rule[0], '/' ) || ! wpag_is_bit( $rule[1] ) ) {
			return null;
		}
		$rules[] = array( strtolower( $rule[0] ), 1 === $rule[1] );
	}
	return array(
		'r' => $rules,
		'd' => 1 === $emb->d,
	);
}

/**
 * Whether a decoded JSON value is exactly the integer 0 or 1 (not true, "1" or 1.0).
 *
 * @param mixed $value Value.
 * @return bool
 */
function wpag_is_bit( $value ) {
	return 0 === $value || 1 === $value;
}

/**
 * Signs claims as a compact JWS (HS256), the counterpart of
 * wpag_verify_assertion(). The header is exactly {"alg":"HS256","typ":"JWT"}.
 *
 * @param array  $claims Claims.
 * @param string $secret The HS256 key.
 * @return string
 */
function wpag_sign_assertion( array $claims, $secret ) {
	$header_b64 = wpag_base64url_encode( '{"alg":"HS256","typ":"JWT"}' );
	// Unescaped slashes: "rte" reads "/_gateway/events", not "\/_gateway\/events".
	$payload_b64 = wpag_base64url_encode( wp_json_encode( $claims, JSON_UNESCAPED_SLASHES ) );
	$signature = hash_hmac( 'sha256', $header_b64 . '.' . $payload_b64, $secret, true );
	return $header_b64 . '.' . $payload_b64 . '.' . wpag_base64url_encode( $signature );
}

/**
 * The assertion that goes with an event: the bridge speaks to the gateway, so
 * issuer and audience are the other way round from the gateway's assertions.
 * `jti` lets the gateway refuse a replayed event.
 *
 * @param string $secret The HS256 key.
 * @param int    $now    Current Unix time.
 * @return string
 */
function wpag_event_assertion( $secret, $now ) {
	return wpag_sign_assertion(
		array(
			'iss' => WPAG_AUDIENCE,
			'aud' => WPAG_ISSUER,
			'iat' => $now,
			'exp' => $now + WPAG_MAX_LIFETIME,
			'via' => 'bridge',
			'mth' => 'POST',
			'rte' => WPAG_EVENTS_ROUTE,
			'jti' => wpag_base64url_encode( random_bytes( 16 ) ),
		),
		$secret
	);
}

/**
 * Checks the claims of a correctly signed assertion (DESIGN.md §3).
 *
 * @param array $c   Claims.
 * @param int   $now Current Unix time.
 * @return bool
 */
function wpag_claims_valid( array $c, $now ) {
	if ( ! isset( $c['iss'], $c['aud'], $c['iat'], $c['exp'], $c['via'], $c['mth'], $c['rte'] ) ) {
		return false;
	}
	if ( WPAG_ISSUER !== $c['iss'] || WPAG_AUDIENCE !== $c['aud'] ) {
		return false;
	}
	if ( ! is_int( $c['iat'] ) || ! is_int( $c['exp'] ) ) {
		return false;
	}
	if ( $c['exp'] <= $now || $c['iat'] > $now + WPAG_CLOCK_SKEW
		|| $c['exp'] <= $c['iat'] || $c['exp'] - $c['iat'] > WPAG_MAX_LIFETIME ) {
		return false;
	}
	if ( ! is_string( $c['via'] ) || '' === $c['via'] ) {
		return false;
	}
	if ( ! is_string( $c['mth'] ) || ! preg_match( '/^[A-Z]+$/', $c['mth'] ) ) {
		return false;
	}
	if ( ! is_string( $c['rte'] ) || 0 !== strpos( $c['rte'], '/' ) ) {
		return false;
	}
	if ( array_key_exists( 'sub', $c ) && ( ! is_string( $c['sub'] ) || ! preg_match( '/^[0-9]{1,19}$/', $c['sub'] ) ) ) {
		return false;
	}
	return true;
}

/**
 * Whether this request carries an assertion header at all (valid or not).
 *
 * @return bool
 */
function wpag_assertion_present() {
	return isset( $_SERVER[ WPAG_HEADER_KEY ] );
}

/**
 * The verified claims of this request's assertion, or null (absent or invalid).
 * Verified once per request and cached.
 *
 * @return array|null
 */
function wpag_assertion() {
	static $done = false, $claims = null;
	if ( ! $done ) {
		$done = true;
		if ( wpag_assertion_present() ) {
			$secret = wpag_secret();
			if ( null === $secret ) {
				// Tell the operator once, without the secret itself.
				error_log( 'wp-auth-gateway bridge: BRIDGE_SECRET is missing or shorter than 32 bytes; every gateway assertion is rejected.' );
			}
			$claims = wpag_verify_assertion( (string) $_SERVER[ WPAG_HEADER_KEY ], $secret, time() );
		}
	}
	return $claims;
}

/**
 * Whether an assertion header is present but does not verify.
 *
 * @return bool
 */
function wpag_assertion_invalid() {
	return wpag_assertion_present() && null === wpag_assertion();
}

/* ------------------------------------------------------------------------- *
 * Current user
 * ------------------------------------------------------------------------- */

/**
 * determine_current_user: the assertion's `sub` wins over cookies and
 * application passwords (those run at priorities 10 and 20, default-filters.php).
 * Without an assertion header, WordPress's own result stands (wp-admin cookies).
 *
 * @param int|false $user_id What earlier callbacks determined.
 * @return int|false
 */
function wpag_determine_current_user( $user_id ) {
	if ( ! wpag_assertion_present() ) {
		return $user_id;
	}
	$claims = wpag_assertion();
	if ( null === $claims || ! isset( $claims['sub'] ) ) {
		return 0; // Invalid (REST answers 401 below) or anonymous.
	}
	$id = (int) $claims['sub'];
	return ( $id > 0 && get_userdata( $id ) ) ? $id : 0;
}
add_filter( 'determine_current_user', 'wpag_determine_current_user', 100 );

/* ------------------------------------------------------------------------- *
 * REST gate and route binding
 * ------------------------------------------------------------------------- */

/**
 * Shared state between the authentication filter and rest_pre_dispatch:
 * whether the next dispatch is the main request of this HTTP request.
 *
 * @param bool|null $set New value, or null to read.
 * @return bool
 */
function wpag_main_dispatch_flag( $set = null ) {
	static $flag = false;
	if ( null !== $set ) {
		$flag = (bool) $set;
	}
	return $flag;
}

/**
 * rest_authentication_errors. Priority 99: after application passwords (90),
 * before rest_cookie_check_errors (100, rest-api.php), so that a request the
 * gateway authenticated is not demoted to anonymous by the cookie nonce check.
 * Requests the gateway saw authenticated by a cookie (`via` = "cookie") are left
 * to that nonce check, which is WordPress's CSRF protection.
 *
 * @param WP_Error|null|true $result What earlier callbacks decided.
 * @return WP_Error|null|true
 */
function wpag_rest_authentication_errors( $result ) {
	/*
	 * WP_REST_Server::serve_request() (class-wp-rest-server.php) applies this
	 * filter through check_authentication() right before it dispatches the main
	 * request; embedded (_embed) and batch sub-requests never come through here.
	 * So arm "the next rest_pre_dispatch is the main request" – once per HTTP
	 * request, so that a plugin applying this filter again later cannot arm it
	 * for some internal rest_do_request().
	 */
	static $armed = false;
	if ( ! $armed && defined( 'REST_REQUEST' ) && REST_REQUEST ) {
		$armed = true;
		wpag_main_dispatch_flag( true );
	}

	if ( wpag_assertion_invalid() ) {
		return new WP_Error( 'gateway_assertion_invalid', 'The gateway assertion is invalid.', array( 'status' => 401 ) );
	}
	$claims = wpag_assertion();
	if ( null === $claims ) {
		if ( wpag_require_assertion() ) {
			return new WP_Error( 'gateway_assertion_required', 'This site is only reachable through its authentication gateway.', array( 'status' => 401 ) );
		}
		return $result;
	}
	if ( 'cookie' === $claims['via'] ) {
		return wpag_cookie_authentication_errors( $result, $claims );
	}
	if ( empty( $result ) ) {
		return true; // Authenticated by the gateway.
	}
	return $result; // Including another plugin's WP_Error.
}
add_filter( 'rest_authentication_errors', 'wpag_rest_authentication_errors', 99 );

/**
 * A request the gateway let through because of a login cookie (`via` = "cookie"):
 * the current user is `sub` (wpag_determine_current_user()), and the X-WP-Nonce
 * check of rest_cookie_check_errors() (rest-api.php, priority 100) must still
 * run – it is WordPress's CSRF protection. That check only runs when
 * $wp_rest_auth_cookie is true, i.e. when WordPress itself validated a login
 * cookie in this request (rest_cookie_collect_status() on auth_cookie_valid);
 * otherwise it takes any logged-in user as "authenticated by other means" and
 * skips the nonce. So a cookie request whose cookie WordPress did not accept
 * is refused instead of being let through on `sub` alone. The nonce is bound
 * to the user ID and the cookie's session token, so a cookie of another user
 * than `sub` fails that check.
 *
 * @param WP_Error|null|true $result What earlier callbacks decided.
 * @param array              $claims Verified claims.
 * @return WP_Error|null|true
 */
function wpag_cookie_authentication_errors( $result, array $claims ) {
	global $wp_rest_auth_cookie;
	if ( ! empty( $result ) || ! isset( $claims['sub'] ) || ! is_user_logged_in() ) {
		return $result; // Another decision, or anonymous: nothing to protect.
	}
	if ( true !== $wp_rest_auth_cookie ) {
		return new WP_Error( 'gateway_cookie_missing', 'The login cookie is missing or not valid.', array( 'status' => 401 ) );
	}
	return $result; // rest_cookie_check_errors() decides.
}

/**
 * Lower-cased route without trailing slash; "/" for the root.
 *
 * @param string $route REST route.
 * @return string
 */
function wpag_normalise_route( $route ) {
	$route = strtolower( untrailingslashit( (string) $route ) );
	return '' === $route ? '/' : $route;
}

/**
 * Whether a REST request is exactly the method and route the gateway authorised.
 * WordPress matches routes case-insensitively (WP_REST_Server::match_request_to_handler).
 *
 * @param WP_REST_Request $request The request.
 * @param array           $claims  Verified claims.
 * @return bool
 */
function wpag_request_matches( $request, array $claims ) {
	return strtoupper( $request->get_method() ) === $claims['mth']
		&& wpag_normalise_route( $request->get_route() ) === wpag_normalise_route( $claims['rte'] );
}

/**
 * rest_pre_dispatch: refuse a main request whose route or method differs from
 * what the gateway authorised – whatever WordPress parses differently from the
 * gateway (rest_route, _method, X-HTTP-Method-Override, ...) is blocked here too.
 *
 * @param mixed           $result  Response to replace the dispatch with, or null.
 * @param WP_REST_Server  $server  Server instance.
 * @param WP_REST_Request $request The request about to be dispatched.
 * @return mixed
 */
function wpag_rest_pre_dispatch( $result, $server, $request ) {
	if ( ! wpag_main_dispatch_flag() ) {
		return wpag_sub_request_pre_dispatch( $result, $request );
	}
	wpag_main_dispatch_flag( false );

	$claims = wpag_assertion();
	if ( null !== $claims && ! wpag_request_matches( $request, $claims ) ) {
		return new WP_Error( 'gateway_route_mismatch', 'The request does not match the route the gateway authorised.', array( 'status' => 403 ) );
	}
	return $result;
}
add_filter( 'rest_pre_dispatch', 'wpag_rest_pre_dispatch', 0, 3 );

/**
 * Any dispatch other than the main request: embedded links (_embed,
 * WP_REST_Server::embed_links()), batch sub-requests, rest_do_request() of
 * plugins. They run as the same user but never passed the gateway's route
 * rules, so the gateway sends those rules along (`emb`) and they are applied
 * here. Without `emb`, nothing is restricted.
 *
 * The refusal is returned as a response, not as a WP_Error: WordPress 6.1's
 * dispatch() hands a rest_pre_dispatch result back unconverted, and
 * embed_links() and serve_batch_request_v1() (class-wp-rest-server.php) then
 * call response methods on it – a WP_Error would be a fatal error there.
 * The embedded entry reads {"code":"gateway_embed_forbidden",...,"data":{"status":403}}.
 *
 * @param mixed           $result  Response to replace the dispatch with, or null.
 * @param WP_REST_Request $request The sub-request.
 * @return mixed
 */
function wpag_sub_request_pre_dispatch( $result, $request ) {
	$claims = wpag_assertion();
	if ( null === $claims || ! isset( $claims['emb'] ) || wpag_emb_allows( $claims['emb'], $request->get_route() ) ) {
		return $result;
	}
	return rest_convert_error_to_response(
		new WP_Error( 'gateway_embed_forbidden', 'The gateway does not allow this embedded resource.', array( 'status' => 403 ) )
	);
}

/**
 * The `emb` decision for a route: the first matching rule, else the default.
 * A pattern ending in "*" is a plain string prefix ("/wp/v2/users*" also
 * matches "/wp/v2/usersx"); any other pattern must equal the route.
 *
 * @param array  $emb   Parsed claim (wpag_parse_emb()).
 * @param string $route REST route of the sub-request.
 * @return bool
 */
function wpag_emb_allows( array $emb, $route ) {
	$route = wpag_normalise_route( $route );
	foreach ( $emb['r'] as $rule ) {
		list( $pattern, $allow ) = $rule;
		if ( '*' === substr( $pattern, -1 ) ) {
			$prefix = substr( $pattern, 0, -1 );
			$matches = 0 === strncmp( $route, $prefix, strlen( $prefix ) );
		} else {
			$matches = $route === $pattern;
		}
		if ( $matches ) {
			return $allow;
		}
	}
	return $emb['d'];
}

/* ------------------------------------------------------------------------- *
 * Internal routes for the gateway: /wp-json/gateway-bridge/v1/
 * ------------------------------------------------------------------------- */

/**
 * Registers the bridge routes. One small handler per route, so that later
 * routes (users/provision, password-reset, register) are added the same way.
 */
function wpag_register_routes() {
	register_rest_route(
		WPAG_NAMESPACE,
		'/authenticate',
		array(
			'methods'             => 'POST',
			'callback'            => 'wpag_route_authenticate',
			'permission_callback' => 'wpag_gateway_permission',
			'show_in_index'       => false,
		)
	);
	register_rest_route(
		WPAG_NAMESPACE,
		'/users/(?P<id>\d+)',
		array(
			'methods'             => 'GET',
			'callback'            => 'wpag_route_get_user',
			'permission_callback' => 'wpag_gateway_permission',
			'show_in_index'       => false,
		)
	);
	register_rest_route(
		WPAG_NAMESPACE,
		'/cookie',
		array(
			'methods'             => 'POST',
			'callback'            => 'wpag_route_cookie',
			'permission_callback' => 'wpag_gateway_permission',
			'show_in_index'       => false,
		)
	);
}
add_action( 'rest_api_init', 'wpag_register_routes' );

/**
 * Only the gateway itself may call the bridge routes: a valid assertion with
 * `via` = "gateway", issued for exactly this request (also checked here, not
 * only in rest_pre_dispatch, so that no sub-request can reach these routes).
 *
 * @param WP_REST_Request $request The request.
 * @return true|WP_Error
 */
function wpag_gateway_permission( $request ) {
	$claims = wpag_assertion();
	if ( null !== $claims && 'gateway' === $claims['via'] && wpag_request_matches( $request, $claims ) ) {
		return true;
	}
	return new WP_Error( 'gateway_forbidden', 'Forbidden.', array( 'status' => 403 ) );
}

/**
 * The user record the gateway works with.
 *
 * @param WP_User $user User.
 * @return array
 */
function wpag_user_record( WP_User $user ) {
	return array(
		'id'           => (int) $user->ID,
		'login'        => (string) $user->user_login,
		'email'        => (string) $user->user_email,
		'display_name' => (string) $user->display_name,
		'roles'        => array_values( (array) $user->roles ),
	);
}

/**
 * The one failure answer of /authenticate, whatever went wrong.
 *
 * @return WP_Error
 */
function wpag_invalid_credentials() {
	return new WP_Error( 'invalid_credentials', 'Invalid username or password.', array( 'status' => 401 ) );
}

/**
 * POST /gateway-bridge/v1/authenticate {login, password}.
 *
 * wp_authenticate() (pluggable.php) runs the `authenticate` filter: login or
 * email, every hash format WordPress knows, spam/blocked checks, and any
 * plugin hooked into login; it also fires wp_login_failed for lockout plugins.
 * Its specific error codes (invalid_username, incorrect_password, ...) would
 * tell whether a user exists, so every failure becomes the same answer.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function wpag_route_authenticate( $request ) {
	$login = $request->get_param( 'login' );
	$password = $request->get_param( 'password' );
	if ( ! is_string( $login ) || ! is_string( $password ) || '' === trim( $login ) || '' === trim( $password ) ) {
		return wpag_invalid_credentials();
	}

	$user = wp_authenticate( $login, $password );
	if ( $user instanceof WP_User && ! is_wp_error( $user ) ) {
		// Users whose cache was never cleaned since the bridge came have no
		// fingerprint yet; without one, their next password change would go unseen.
		wpag_check_password_fingerprint( (int) $user->ID, false );
		return new WP_REST_Response( wpag_user_record( $user ), 200 );
	}

	if ( is_wp_error( $user ) && in_array( $user->get_error_code(), array( 'invalid_username', 'invalid_email' ), true ) ) {
		// No such user, so no hash was checked: spend the same time anyway.
		wp_check_password( $password, WPAG_DUMMY_HASH );
	}
	return wpag_invalid_credentials();
}

/**
 * GET /gateway-bridge/v1/users/<id>.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function wpag_route_get_user( $request ) {
	$user = get_userdata( (int) $request['id'] );
	if ( ! $user ) {
		return new WP_Error( 'user_not_found', 'User not found.', array( 'status' => 404 ) );
	}
	return new WP_REST_Response( wpag_user_record( $user ), 200 );
}

/**
 * The one failure answer of /cookie, whatever went wrong.
 *
 * @return WP_Error
 */
function wpag_invalid_cookie() {
	return new WP_Error( 'invalid_cookie', 'The login cookie or nonce is not valid.', array( 'status' => 401 ) );
}

/**
 * The value PHP would put into $_COOKIE[ $name ] for a Cookie header, or null
 * (absent, or an array). Mirrors php_default_treat_data() and
 * php_register_variable_ex() (main/php_variables.c, PHP 8): pairs split at
 * ";", leading white space of a name dropped, " " and "." in a name read as
 * "_", "name[...]" makes an array, the first of duplicate names wins, and the
 * value is raw-URL-decoded ("+" stays "+"). So the gateway gets the answer for
 * the cookie WordPress will see when the request is forwarded.
 *
 * @param string $header Cookie header value.
 * @param string $name   Cookie name.
 * @return string|null
 */
function wpag_cookie_value( $header, $name ) {
	$seen = array();
	foreach ( explode( ';', $header ) as $pair ) {
		$pair = ltrim( $pair, " \t\n\r\v\f" );
		$eq = strpos( $pair, '=' );
		$raw_name = false === $eq ? $pair : substr( $pair, 0, $eq );
		if ( '' === $raw_name ) {
			continue;
		}
		list( $key, $is_array ) = wpag_php_cookie_name( $raw_name );
		if ( isset( $seen[ $key ] ) ) {
			continue; // PHP ignores repeated cookies.
		}
		$seen[ $key ] = true;
		if ( $key === $name ) {
			return $is_array ? null : rawurldecode( false === $eq ? '' : substr( $pair, $eq + 1 ) );
		}
	}
	return null;
}

/**
 * The $_COOKIE key PHP makes of a cookie name, and whether it is an array.
 *
 * @param string $raw_name Name as in the header (leading white space removed).
 * @return array array( key, is_array )
 */
function wpag_php_cookie_name( $raw_name ) {
	$bracket = strpos( $raw_name, '[' );
	if ( false === $bracket ) {
		return array( strtr( $raw_name, ' .', '__' ), false );
	}
	$base = strtr( substr( $raw_name, 0, $bracket ), ' .', '__' );
	if ( false !== strpos( $raw_name, ']', $bracket ) ) {
		return array( $base, true );
	}
	// An unclosed "[" becomes "_"; PHP leaves the rest of the name as it is.
	return array( $base . '_' . substr( $raw_name, $bracket + 1 ), false );
}

/**
 * Whether a wp_rest nonce is valid for a user and the session of a login cookie.
 *
 * wp_verify_nonce() (pluggable.php) checks against the current user and
 * wp_get_session_token() (user.php), which reads $_COOKIE[ LOGGED_IN_COOKIE ]:
 * both are set to the client's for the check and restored afterwards (this
 * request is the gateway's own; it has neither a user nor that cookie).
 *
 * @param int    $user_id      User the cookie belongs to.
 * @param string $cookie_value Logged-in cookie value.
 * @param string $nonce        X-WP-Nonce value.
 * @return bool
 */
function wpag_rest_nonce_valid( $user_id, $cookie_value, $nonce ) {
	$previous_user = get_current_user_id();
	$had_cookie = array_key_exists( LOGGED_IN_COOKIE, $_COOKIE );
	$previous_cookie = $had_cookie ? $_COOKIE[ LOGGED_IN_COOKIE ] : null;
	$_COOKIE[ LOGGED_IN_COOKIE ] = $cookie_value;
	try {
		wp_set_current_user( $user_id );
		return (bool) wp_verify_nonce( $nonce, 'wp_rest' ); // 1 or 2 (which half of its lifetime).
	} finally {
		if ( $had_cookie ) {
			$_COOKIE[ LOGGED_IN_COOKIE ] = $previous_cookie;
		} else {
			unset( $_COOKIE[ LOGGED_IN_COOKIE ] );
		}
		wp_set_current_user( $previous_user );
	}
}

/**
 * POST /gateway-bridge/v1/cookie {cookie, nonce}: whether a request of the
 * WordPress admin or block editor (logged-in cookie + X-WP-Nonce) is
 * authenticated, and as whom – the same checks WordPress makes for such a
 * REST request (wp_validate_logged_in_cookie(), user.php, then
 * rest_cookie_check_errors(), rest-api.php). Every failure gives the same answer.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function wpag_route_cookie( $request ) {
	$cookie = $request->get_param( 'cookie' );
	$nonce = $request->get_param( 'nonce' );
	if ( ! is_string( $cookie ) || ! is_string( $nonce ) || '' === $nonce
		|| strlen( $cookie ) > WPAG_MAX_COOKIE_LEN || strlen( $nonce ) > WPAG_MAX_NONCE_LEN ) {
		return wpag_invalid_cookie();
	}
	$value = wpag_cookie_value( $cookie, LOGGED_IN_COOKIE );
	// Never pass '' on: wp_validate_auth_cookie() would read this request's own $_COOKIE.
	if ( null === $value || '' === $value ) {
		return wpag_invalid_cookie();
	}
	$user_id = (int) wp_validate_auth_cookie( $value, 'logged_in' );
	if ( $user_id <= 0 || ! wpag_rest_nonce_valid( $user_id, $value, $nonce ) ) {
		return wpag_invalid_cookie();
	}
	$user = get_userdata( $user_id );
	if ( ! $user ) {
		return wpag_invalid_cookie();
	}
	return new WP_REST_Response( wpag_user_record( $user ), 200 );
}

/* ------------------------------------------------------------------------- *
 * Events, WordPress → gateway: POST <WP_AUTH_GATEWAY_URL>/_gateway/events
 * ------------------------------------------------------------------------- */

/**
 * Tells the gateway about a user change, at most once per (type, user) and PHP
 * request – one user update fires several of the hooks below.
 *
 * Blocking, so that the gateway has revoked before the WordPress request that
 * caused the change finishes. A failure is logged (without secret or
 * assertion) and never breaks the action that triggered it.
 *
 * @param string $type    password_changed, roles_changed, user_deleted or logout.
 * @param int    $user_id User ID.
 */
function wpag_send_event( $type, $user_id ) {
	static $sent = array();
	$user_id = (int) $user_id;
	$key = $type . ':' . $user_id;
	if ( $user_id <= 0 || isset( $sent[ $key ] ) || ! wpag_events_enabled() ) {
		return;
	}
	$sent[ $key ] = true; // Also after a failure: one 2 s timeout per event is enough.

	try {
		$response = wp_remote_post(
			wpag_gateway_url() . WPAG_EVENTS_ROUTE,
			array(
				'timeout'     => WPAG_EVENT_TIMEOUT,
				'blocking'    => true,
				'redirection' => 0,
				'headers'     => array(
					'Content-Type'           => 'application/json',
					'X-WP-Gateway-Assertion' => wpag_event_assertion( wpag_secret(), time() ),
				),
				'body'        => wp_json_encode( array( 'type' => $type, 'user_id' => $user_id ) ),
			)
		);
	} catch ( Throwable $e ) { // E.g. random_bytes() without an entropy source.
		$response = new WP_Error( 'wpag_event_exception', get_class( $e ) . ': ' . $e->getMessage() );
	}

	$status = is_wp_error( $response ) ? 0 : (int) wp_remote_retrieve_response_code( $response );
	if ( $status < 200 || $status > 299 ) {
		error_log(
			sprintf(
				'wp-auth-gateway bridge: event %s for user %d not delivered: %s',
				$type,
				$user_id,
				is_wp_error( $response ) ? $response->get_error_message() : 'HTTP ' . $status
			)
		);
	}
}

/* --- password changes ---------------------------------------------------- */

/**
 * The user's password hash as it is in the database now (not from the user
 * cache, which may hold the old one), or null when the user row is gone.
 *
 * @param int $user_id User ID.
 * @return string|null
 */
function wpag_current_password_hash( $user_id ) {
	global $wpdb;
	$hash = $wpdb->get_var( $wpdb->prepare( "SELECT user_pass FROM {$wpdb->users} WHERE ID = %d", $user_id ) );
	return null === $hash ? null : (string) $hash;
}

/**
 * A keyed fingerprint of a password hash, so the hash is not stored twice.
 * Prefixed with an identifier of the key: after BRIDGE_SECRET is rotated, every
 * stored fingerprint differs, and that must read as "first sight", not as a
 * password change of every user.
 *
 * @param string $hash   Password hash (users.user_pass).
 * @param string $secret BRIDGE_SECRET.
 * @return string
 */
function wpag_password_fingerprint( $hash, $secret ) {
	$key_id = substr( hash_hmac( 'sha256', 'wpag-password-fingerprint-key', $secret ), 0, 8 );
	return $key_id . ':' . hash_hmac( 'sha256', $hash, $secret );
}

/**
 * The plaintext password of the login being checked right now (between the
 * first and the last `authenticate` callback), or null.
 *
 * @param string|null|false $set New value (null clears), or false to read.
 * @return string|null
 */
function wpag_pending_login_password( $set = false ) {
	static $password = null;
	if ( false !== $set ) {
		$password = is_string( $set ) ? $set : null;
	}
	return $password;
}

/**
 * authenticate, first and last (wp_authenticate(), pluggable.php): remember the
 * password under test. Logging in may rehash the stored password without
 * changing it – WordPress 6.1's wp_check_password() upgrades an MD5 hash, and
 * from 6.8 wp_authenticate_username_password() upgrades phpass to bcrypt – both
 * through wp_set_password(). That is no password change and must not revoke the
 * tokens of a user who is just logging in.
 *
 * @param mixed  $user     What earlier callbacks returned (passed through).
 * @param string $username Login (unused).
 * @param string $password Plaintext password.
 * @return mixed
 */
function wpag_login_begin( $user, $username = '', $password = '' ) {
	wpag_pending_login_password( is_string( $password ) && '' !== $password ? $password : null );
	return $user;
}
add_filter( 'authenticate', 'wpag_login_begin', -1000, 3 );

/**
 * authenticate, last: the login check is over.
 *
 * @param mixed $user Result (passed through).
 * @return mixed
 */
function wpag_login_end( $user ) {
	wpag_pending_login_password( null );
	return $user;
}
add_filter( 'authenticate', 'wpag_login_end', PHP_INT_MAX );

/**
 * Whether a new hash only re-encodes the password of the login in progress.
 * No user ID to wp_check_password(): with one it would rehash an MD5 hash itself.
 *
 * @param string $hash New password hash.
 * @return bool
 */
function wpag_is_login_rehash( $hash ) {
	$password = wpag_pending_login_password();
	return null !== $password && wp_check_password( $password, $hash );
}

/**
 * Compares the user's password hash with the fingerprint stored when it was last
 * seen, stores the current one, and – if $notify and a different one had been
 * stored – sends password_changed. First sight only stores.
 *
 * @param int  $user_id User ID.
 * @param bool $notify  Whether a change is sent (false: record only).
 */
function wpag_check_password_fingerprint( $user_id, $notify ) {
	// update_user_meta() does not clean the user cache in 6.1 (it only deletes the
	// meta cache, meta.php), but a plugin hooked into meta updates might: no recursion.
	static $busy = false;
	if ( $busy || $user_id <= 0 || ! wpag_events_enabled() ) {
		return;
	}
	$busy = true;
	try {
		$hash = wpag_current_password_hash( $user_id );
		if ( null === $hash ) {
			return; // Deleted (wp_delete_user() cleans the cache after the row is gone).
		}
		$current = wpag_password_fingerprint( $hash, wpag_secret() );
		$stored = (string) get_user_meta( $user_id, WPAG_FINGERPRINT_META, true );
		if ( $stored === $current ) {
			return;
		}
		update_user_meta( $user_id, WPAG_FINGERPRINT_META, $current );
		$same_key = '' !== $stored && strstr( $stored, ':', true ) === strstr( $current, ':', true );
		if ( $notify && $same_key && ! wpag_is_login_rehash( $hash ) ) {
			wpag_send_event( 'password_changed', $user_id );
		}
	} finally {
		$busy = false;
	}
}

/**
 * clean_user_cache (clean_user_cache(), user.php). WordPress 6.1's
 * wp_set_password() (pluggable.php) fires no password hook of its own, only
 * this one, as do wp_insert_user() and wp_update_user(); so a password change
 * is found here by comparing the stored hash with the last one seen.
 *
 * @param int $user_id User ID.
 */
function wpag_on_clean_user_cache( $user_id ) {
	wpag_check_password_fingerprint( (int) $user_id, true );
}
add_action( 'clean_user_cache', 'wpag_on_clean_user_cache' );

/**
 * wp_set_password (WordPress >= 6.2, pluggable.php): the password was set.
 *
 * @param string $password Plaintext password.
 * @param int    $user_id  User ID.
 */
function wpag_on_wp_set_password( $password, $user_id ) {
	$pending = wpag_pending_login_password();
	if ( null !== $pending && is_string( $password ) && hash_equals( $pending, $password ) ) {
		return; // A rehash during login, see wpag_login_begin().
	}
	wpag_send_event( 'password_changed', (int) $user_id );
}
add_action( 'wp_set_password', 'wpag_on_wp_set_password', 10, 2 );

/**
 * after_password_reset (reset_password(), user.php).
 *
 * @param WP_User $user The user.
 */
function wpag_on_after_password_reset( $user ) {
	if ( $user instanceof WP_User ) {
		wpag_send_event( 'password_changed', (int) $user->ID );
	}
}
add_action( 'after_password_reset', 'wpag_on_after_password_reset' );

/**
 * profile_update (wp_insert_user(), user.php): compare old and new hash.
 *
 * @param int     $user_id       User ID.
 * @param WP_User $old_user_data The user before the update.
 */
function wpag_on_profile_update( $user_id, $old_user_data ) {
	if ( ! is_object( $old_user_data ) || ! isset( $old_user_data->user_pass ) ) {
		return;
	}
	$hash = wpag_current_password_hash( (int) $user_id );
	if ( null !== $hash && ! hash_equals( (string) $old_user_data->user_pass, $hash ) ) {
		wpag_send_event( 'password_changed', (int) $user_id );
	}
}
add_action( 'profile_update', 'wpag_on_profile_update', 10, 2 );

/* --- roles, deletion, logout --------------------------------------------- */

/**
 * set_user_role (WP_User::set_role(), class-wp-user.php): only a real change.
 *
 * @param int      $user_id   User ID.
 * @param string   $role      New role ('' removes all).
 * @param string[] $old_roles Roles before.
 */
function wpag_on_set_user_role( $user_id, $role, $old_roles = array() ) {
	$new = '' === (string) $role ? array() : array( (string) $role );
	$old = array_values( array_unique( array_filter( array_map( 'strval', (array) $old_roles ) ) ) );
	sort( $old );
	if ( $new !== $old ) {
		wpag_send_event( 'roles_changed', (int) $user_id );
	}
}
add_action( 'set_user_role', 'wpag_on_set_user_role', 10, 3 );

/**
 * add_user_role, remove_user_role (class-wp-user.php): fired only when the
 * role was really added or removed.
 *
 * @param int $user_id User ID.
 */
function wpag_on_user_role_added_or_removed( $user_id ) {
	wpag_send_event( 'roles_changed', (int) $user_id );
}
add_action( 'add_user_role', 'wpag_on_user_role_added_or_removed' );
add_action( 'remove_user_role', 'wpag_on_user_role_added_or_removed' );

/**
 * delete_user (wp_delete_user(), wp-admin/includes/user.php) and
 * wpmu_delete_user (wp-admin/includes/ms.php): fired before the row is deleted.
 *
 * @param int $user_id User ID.
 */
function wpag_on_user_deleted( $user_id ) {
	wpag_send_event( 'user_deleted', (int) $user_id );
}
add_action( 'delete_user', 'wpag_on_user_deleted' );
add_action( 'wpmu_delete_user', 'wpag_on_user_deleted' );

/**
 * wp_logout (wp_logout(), pluggable.php; the user ID since WordPress 5.5).
 *
 * @param int $user_id User ID (0 when nobody was logged in).
 */
function wpag_on_logout( $user_id = 0 ) {
	wpag_send_event( 'logout', (int) $user_id );
}
add_action( 'wp_logout', 'wpag_on_logout' );
