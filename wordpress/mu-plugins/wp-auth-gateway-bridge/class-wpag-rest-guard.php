<?php
/**
 * The bridge's enforcement: WordPress dispatches only what the gateway authorised.
 *
 * @package wp-auth-gateway
 */

/**
 * Holds every REST dispatch to the assertion, and applies the asserted user
 * only inside the dispatch the assertion names.
 *
 * The order inside WP_REST_Server::serve_request() (class-wp-rest-server.php)
 * that this rests on: it clears a cached anonymous user, applies
 * rest_authentication_errors once through check_authentication(), then
 * dispatch() applies rest_pre_dispatch to the main request. Embedded links
 * (embed_links()) and batch sub-requests (serve_batch_request_v1()) apply
 * rest_pre_dispatch again for each internal request.
 */
final class WPAG_Rest_Guard {

	/**
	 * The user of the authorised REST dispatch: null until the main dispatch
	 * of this HTTP request has been authenticated.
	 *
	 * @var int|null
	 */
	private static $dispatch_user = null;

	/**
	 * Whether the next rest_pre_dispatch is the main request.
	 *
	 * @var bool
	 */
	private static $main_pending = false;

	/**
	 * Whether the main REST dispatch has begun (sub-dispatches are held to `emb` and `bat` from then on).
	 *
	 * @var bool
	 */
	private static $main_begun = false;

	/**
	 * determine_current_user, after WordPress's own (cookies at 10 and 20).
	 *
	 * With a REST assertion the caller is nobody until the REST dispatch the
	 * assertion names is authenticated, and then exactly `sub`: so admin-ajax,
	 * wp-comments-post, wp-login, xmlrpc, cron or the theme, reached with a
	 * REST assertion however WordPress came to run them, act for an anonymous
	 * visitor. Without one (site pages, the admin with its login cookie),
	 * WordPress's own answer stands: the assertion grants nobody anything there.
	 *
	 * @param int|false $user_id What earlier callbacks determined.
	 * @return int|false
	 */
	public static function determine_current_user( $user_id ) {
		if ( null === WPAG_Assertion::rest() ) {
			return $user_id;
		}
		return null === self::$dispatch_user ? 0 : self::$dispatch_user;
	}

	/**
	 * rest_authentication_errors, priority 99: after application passwords
	 * (90), before rest_cookie_check_errors (100, rest-api.php).
	 *
	 * @param WP_Error|null|true $result What earlier callbacks decided.
	 * @return WP_Error|null|true
	 */
	public static function rest_authentication_errors( $result ) {
		if ( ! ( defined( 'REST_REQUEST' ) && REST_REQUEST ) ) {
			return $result; // A plugin applying the filter outside the REST API.
		}
		if ( WPAG_Assertion::invalid() ) {
			return new WP_Error( 'gateway_assertion_invalid', 'The gateway assertion is invalid.', array( 'status' => 401 ) );
		}
		$claims = WPAG_Assertion::claims();
		if ( null === $claims ) {
			if ( WPAG_Settings::require_assertion() ) {
				return new WP_Error( 'gateway_assertion_required', 'This site is only reachable through its authentication gateway.', array( 'status' => 401 ) );
			}
			return $result; // Opted out: WordPress decides as it would without the bridge.
		}
		if ( ! isset( $claims['rte'] ) ) {
			return new WP_Error( 'gateway_not_rest', 'The gateway let this request through as a site page; it may not use the REST API.', array( 'status' => 403 ) );
		}
		if ( null === self::$dispatch_user ) {
			// Once per HTTP request: the check_authentication() of the main request.
			self::$dispatch_user = isset( $claims['sub'] ) ? (int) $claims['sub'] : 0;
			self::$main_pending = true;
			wp_set_current_user( self::$dispatch_user );
		}
		if ( 'cookie' === $claims['via'] ) {
			return self::cookie_errors( $result, $claims );
		}
		return empty( $result ) ? true : $result;
	}

	/**
	 * A request the gateway let through because of a login cookie: the nonce
	 * check of rest_cookie_check_errors() must still run (WordPress's CSRF
	 * protection). It only runs when WordPress itself validated a login cookie
	 * in this request ($wp_rest_auth_cookie); otherwise it takes a logged-in
	 * user as "authenticated by other means" and skips the nonce, so such a
	 * request is refused. The nonce is bound to the user and the cookie's
	 * session, so a cookie of another user than `sub` fails that check.
	 *
	 * @param WP_Error|null|true $result What earlier callbacks decided.
	 * @param array              $claims Verified claims.
	 * @return WP_Error|null|true
	 */
	private static function cookie_errors( $result, array $claims ) {
		global $wp_rest_auth_cookie;
		if ( ! empty( $result ) || ! isset( $claims['sub'] ) || ! is_user_logged_in() ) {
			return $result;
		}
		if ( true !== $wp_rest_auth_cookie ) {
			return new WP_Error( 'gateway_cookie_missing', 'The login cookie is missing or not valid.', array( 'status' => 401 ) );
		}
		return $result; // rest_cookie_check_errors() decides.
	}

	/**
	 * rest_pre_dispatch, priority 0: the main request must be exactly the
	 * method and route the gateway authorised; every other dispatch inside it
	 * must be on the batch list or allowed by the embed rules. Whatever
	 * WordPress parses differently from the gateway is refused here.
	 *
	 * @param mixed           $result  Response to replace the dispatch with, or null.
	 * @param WP_REST_Server  $server  Server instance.
	 * @param WP_REST_Request $request The request about to be dispatched.
	 * @return mixed
	 */
	public static function rest_pre_dispatch( $result, $server, $request ) {
		if ( self::$main_pending ) {
			self::$main_pending = false;
			self::$main_begun = true;
			$claims = WPAG_Assertion::rest();
			if ( ! self::matches( $request, $claims['mth'], $claims['rte'] ) ) {
				return new WP_Error( 'gateway_route_mismatch', 'The request does not match the route the gateway authorised.', array( 'status' => 403 ) );
			}
			return $result;
		}
		if ( ! self::$main_begun ) {
			// Not inside a REST request served over HTTP (e.g. the block
			// editor preloading its data): WordPress's own user, not the gateway's.
			return $result;
		}
		return self::sub_request( $result, $request );
	}

	/**
	 * A dispatch inside the main one: a batch sub-request must be on the
	 * assertion's `bat` list; an embedded resource (a GET) must be allowed by
	 * the caller's rules in `emb`; anything else is refused.
	 *
	 * The refusal is a response, not a WP_Error: WordPress 6.1's dispatch()
	 * hands a rest_pre_dispatch result back unconverted, and embed_links() and
	 * serve_batch_request_v1() call response methods on it.
	 *
	 * @param mixed           $result  Response to replace the dispatch with, or null.
	 * @param WP_REST_Request $request The sub-request.
	 * @return mixed
	 */
	private static function sub_request( $result, $request ) {
		$claims = WPAG_Assertion::rest();
		if ( null === $claims ) {
			return $result; // Opted out and unasserted: WordPress decides.
		}
		$method = strtoupper( $request->get_method() );
		$route = self::normalise_route( $request->get_route() );
		if ( isset( $claims['bat'] ) && in_array( $method . ' ' . $route, $claims['bat'], true ) ) {
			return $result;
		}
		if ( isset( $claims['emb'] ) && ( 'GET' === $method || 'HEAD' === $method ) && self::emb_allows( $claims['emb'], $route ) ) {
			return $result;
		}
		return rest_convert_error_to_response(
			new WP_Error( 'gateway_subrequest_forbidden', 'The gateway did not authorise this request.', array( 'status' => 403 ) )
		);
	}

	/**
	 * rest_request_before_callbacks (WP_REST_Server::respond_to_request()):
	 * every dispatch, main, embedded or batched, with its matched handler.
	 * Numbers are read without leading zeros, and the route's own parameters (the `id` of /wp/v2/users/(?P<id>...)) must be
	 * what the request acts on: WordPress lets the JSON body, the form body and
	 * the query override them (WP_REST_Request::get_parameter_order()), so
	 * /wp/v2/users/1?id=3 would act on user 3 while the gateway judged user 1.
	 *
	 * @param WP_REST_Response|WP_HTTP_Response|WP_Error|mixed $response Result so far.
	 * @param array                                            $handler  Matched handler.
	 * @param WP_REST_Request                                  $request  The request.
	 * @return mixed
	 */
	public static function rest_request_before_callbacks( $response, $handler, $request ) {
		if ( is_wp_error( $response ) || ! self::$main_begun || null === WPAG_Assertion::rest() ) {
			return $response;
		}
		// (?P<id>[\d]+) reads /tags/09 as tag 9: a route the gateway judged as
		// another string than the resource it names is refused, whatever was asserted.
		if ( preg_match( '#/0[0-9]#', (string) $request->get_route() ) ) {
			return new WP_Error( 'gateway_route_ambiguous', 'A number in the route has a leading zero.', array( 'status' => 400 ) );
		}
		foreach ( $request->get_url_params() as $name => $value ) {
			$effective = $request->get_param( $name );
			if ( ! is_scalar( $effective ) || (string) $effective !== (string) $value ) {
				return new WP_Error( 'gateway_param_override', sprintf( 'The parameter %s may not differ from the route.', $name ), array( 'status' => 400 ) );
			}
		}
		return $response;
	}

	/**
	 * Whether a request is exactly the method and route of an assertion.
	 *
	 * @param WP_REST_Request $request The request.
	 * @param string          $method  Asserted method.
	 * @param string          $route   Asserted route.
	 * @return bool
	 */
	public static function matches( $request, $method, $route ) {
		return strtoupper( $request->get_method() ) === $method
			&& self::normalise_route( $request->get_route() ) === self::normalise_route( $route );
	}

	/**
	 * Lower-cased route without trailing slash ("/" for the root): WordPress
	 * matches routes case-insensitively (WP_REST_Server::match_request_to_handler()).
	 *
	 * @param string $route REST route.
	 * @return string
	 */
	public static function normalise_route( $route ) {
		$route = strtolower( untrailingslashit( (string) $route ) );
		return '' === $route ? '/' : $route;
	}

	/**
	 * The `emb` decision for a route: the first matching rule, else the default.
	 * A pattern ending in "*" is a string prefix; any other must equal the route.
	 *
	 * @param array  $emb   Parsed claim.
	 * @param string $route Normalised route.
	 * @return bool
	 */
	private static function emb_allows( array $emb, $route ) {
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
}
