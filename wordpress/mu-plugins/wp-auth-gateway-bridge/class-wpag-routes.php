<?php
/**
 * The bridge's internal REST routes, for the gateway alone: /wp-json/gateway-bridge/v1/.
 *
 * @package wp-auth-gateway
 */

/**
 * What only WordPress can answer for the gateway: whether a password is
 * right, who a user is, whether a login cookie is valid.
 */
final class WPAG_Routes {

	const NAMESPACE_V1 = 'gateway-bridge/v1';
	const PROTOCOL     = 5;

	/*
	 * A phpass hash of a random throwaway password. Checked against when the
	 * login names no user, so that "unknown user" costs the same hashing time
	 * as "wrong password" and timing does not tell whether a user exists.
	 */
	const DUMMY_HASH = '$P$B7OmgOufaN5yUOb7Tn5JKUE2bSjrX1.';

	/**
	 * rest_api_init: registers the routes.
	 */
	public static function register() {
		$routes = array(
			'/ping'                => array( 'GET', 'ping' ),
			'/authenticate'        => array( 'POST', 'authenticate' ),
			'/users/(?P<id>\d+)'   => array( 'GET', 'get_user' ),
			'/cookie'              => array( 'POST', 'cookie' ),
			'/users/provision'     => array( 'POST', 'provision' ),
		);
		foreach ( $routes as $route => list( $method, $callback ) ) {
			$routes[ $route ] = array( $method, array( __CLASS__, $callback ) );
		}
		// Registration and password reset (class-wpag-accounts.php), under the same permission.
		foreach ( array_merge( $routes, WPAG_Accounts::routes() ) as $route => list( $method, $callback ) ) {
			register_rest_route(
				self::NAMESPACE_V1,
				$route,
				array(
					'methods'             => $method,
					'callback'            => $callback,
					'permission_callback' => array( __CLASS__, 'permission' ),
					'show_in_index'       => false,
				)
			);
		}
	}

	/**
	 * Only the gateway itself: an assertion with `via` = "gateway" for exactly
	 * this request (checked here too, not only in rest_pre_dispatch, so that
	 * no sub-request can reach these routes).
	 *
	 * @param WP_REST_Request $request The request.
	 * @return true|WP_Error
	 */
	public static function permission( $request ) {
		$claims = WPAG_Assertion::rest();
		if ( null !== $claims && 'gateway' === $claims['via'] && WPAG_Rest_Guard::matches( $request, $claims['mth'], $claims['rte'] ) ) {
			return true;
		}
		return new WP_Error( 'gateway_forbidden', 'Forbidden.', array( 'status' => 403 ) );
	}

	/**
	 * GET ping: proves to the gateway that the bridge is installed, accepts its
	 * assertions, and which protocol it speaks.
	 *
	 * @return WP_REST_Response
	 */
	public static function ping() {
		return new WP_REST_Response(
			array(
				'bridge'            => 'wp-auth-gateway',
				'protocol'          => self::PROTOCOL,
				'require_assertion' => WPAG_Settings::require_assertion(),
				'events'            => WPAG_Settings::events_enabled(),
			),
			200
		);
	}

	/**
	 * The user record the gateway works with.
	 *
	 * @param WP_User $user User.
	 * @return array
	 */
	public static function user_record( WP_User $user ) {
		return array(
			'id'           => (int) $user->ID,
			'login'        => (string) $user->user_login,
			'email'        => (string) $user->user_email,
			'display_name' => (string) $user->display_name,
			'roles'        => array_values( (array) $user->roles ),
		);
	}

	/**
	 * The one failure answer of /authenticate, whatever went wrong, with the
	 * account the login names, for the gateway's throttling.
	 *
	 * @param string $account See account().
	 * @return WP_Error
	 */
	private static function invalid_credentials( $account ) {
		return new WP_Error(
			'invalid_credentials',
			'Invalid username or password.',
			array(
				'status'  => 401,
				'account' => $account,
			)
		);
	}

	/**
	 * Which account a login names, found as wp_authenticate() finds it
	 * (sanitize_user, then the login, then the email address), so that the
	 * gateway counts failed attempts at a login and at its email address as
	 * one. An unknown login is an account of its own, named so that no user's
	 * id can be confused with it. The gateway never shows it to clients.
	 *
	 * @param string $login A login or email address, as given.
	 * @return string
	 */
	public static function account( $login ) {
		$login = sanitize_user( $login );
		$user  = get_user_by( 'login', $login );
		if ( ! $user && is_email( $login ) ) {
			$user = get_user_by( 'email', $login );
		}
		return $user ? 'user:' . (int) $user->ID : 'unknown:' . strtolower( $login );
	}

	/**
	 * POST authenticate {login, password, app_password}. wp_authenticate()
	 * (pluggable.php) runs the `authenticate` filter: login or email, every hash
	 * format, spam and blocked checks, plugins hooked into login, and
	 * wp_login_failed for lockout plugins. Its specific error codes would tell
	 * whether a user exists, so every failure becomes the same answer.
	 *
	 * Application Passwords are accepted only when `app_password` is true (a
	 * request's Basic credentials), never for a login that opens a session.
	 * WordPress offers them only over HTTPS (wp_is_application_passwords_supported);
	 * behind the gateway WordPress sees plain HTTP while the client's side is
	 * the gateway's to secure (auth.basic.requireTls), so that check is
	 * answered for this call alone.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function authenticate( $request ) {
		$login    = $request->get_param( 'login' );
		$password = $request->get_param( 'password' );
		if ( ! is_string( $login ) || ! is_string( $password ) || '' === trim( $login ) || '' === trim( $password ) ) {
			return self::invalid_credentials( 'unknown:' );
		}
		$app_passwords = true === $request->get_param( 'app_password' );
		$is_api        = $app_passwords ? '__return_true' : '__return_false';
		add_filter( 'application_password_is_api_request', $is_api, PHP_INT_MAX );
		if ( $app_passwords ) {
			add_filter( 'wp_is_application_passwords_available', '__return_true', PHP_INT_MAX );
		}
		try {
			$user = wp_authenticate( $login, $password );
		} finally {
			remove_filter( 'application_password_is_api_request', $is_api, PHP_INT_MAX );
			remove_filter( 'wp_is_application_passwords_available', '__return_true', PHP_INT_MAX );
		}
		if ( $user instanceof WP_User && ! is_wp_error( $user ) ) {
			// Users whose cache was never cleaned since the bridge came have no
			// fingerprint yet; without one, their next password change would go unseen.
			WPAG_Events::check_password_fingerprint( (int) $user->ID, false );
			$record            = self::user_record( $user );
			$record['account'] = 'user:' . (int) $user->ID;
			return new WP_REST_Response( $record, 200 );
		}
		if ( is_wp_error( $user ) && in_array( $user->get_error_code(), array( 'invalid_username', 'invalid_email' ), true ) ) {
			wp_check_password( $password, self::DUMMY_HASH ); // No hash was checked: spend the same time anyway.
		}
		return self::invalid_credentials( self::account( $login ) );
	}

	/**
	 * GET users/<id>.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function get_user( $request ) {
		$user = get_userdata( (int) $request['id'] );
		if ( ! $user ) {
			return new WP_Error( 'user_not_found', 'User not found.', array( 'status' => 404 ) );
		}
		return new WP_REST_Response( self::user_record( $user ), 200 );
	}

	/**
	 * POST cookie {cookie, nonce}: a request of the WordPress admin or block
	 * editor (logged-in cookie + X-WP-Nonce), and as whom. Every failure gives
	 * the same answer.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function cookie( $request ) {
		$user = WPAG_Cookie::user( $request->get_param( 'cookie' ), $request->get_param( 'nonce' ) );
		if ( null === $user ) {
			return new WP_Error( 'invalid_cookie', 'The login cookie or nonce is not valid.', array( 'status' => 401 ) );
		}
		return new WP_REST_Response( self::user_record( $user ), 200 );
	}

	/** The user meta that links a WordPress user to a provider's subject: one row per link. */
	const LINK_META = '_wpag_provider_link';

	/**
	 * POST users/provision {provider, subject, email, email_verified, name,
	 * roles, create, link_by_email, update_roles, default_role}: the WordPress
	 * user for a person an identity provider vouches for (the gateway has
	 * verified the token and mapped its roles). Found by the link stored on
	 * the user (provider + subject), else, when allowed, by a verified email,
	 * else made, when allowed. Made users get a random password nobody knows.
	 * Events are held back: the gateway asked for the change.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function provision( $request ) {
		$p = $request->get_json_params();
		$string = function ( $key ) use ( $p ) {
			return isset( $p[ $key ] ) && is_string( $p[ $key ] ) ? $p[ $key ] : null;
		};
		$flag = function ( $key ) use ( $p ) {
			return isset( $p[ $key ] ) && true === $p[ $key ];
		};
		$provider = $string( 'provider' );
		$subject  = $string( 'subject' );
		$default  = $string( 'default_role' );
		if ( null === $provider || null === $subject || '' === $provider || '' === $subject || strlen( $provider ) > 64 || strlen( $subject ) > 255 || null === $default ) {
			return new WP_Error( 'invalid_request', 'provider, subject and default_role are required.', array( 'status' => 400 ) );
		}
		$email = $string( 'email' );
		$email = null !== $email && is_email( $email ) ? $email : null;
		$roles = null;
		if ( isset( $p['roles'] ) && is_array( $p['roles'] ) ) {
			$roles = array_values( array_filter( $p['roles'], function ( $r ) {
				return is_string( $r ) && wp_roles()->is_role( $r );
			} ) );
		}
		if ( ! wp_roles()->is_role( $default ) ) {
			return new WP_Error( 'invalid_role', 'default_role is not a role of this site.', array( 'status' => 400 ) );
		}
		$link = $provider . '|' . $subject;
		return WPAG_Events::quietly( function () use ( $link, $email, $roles, $default, $string, $flag ) {
			$found = get_users( array( 'meta_key' => self::LINK_META, 'meta_value' => $link, 'number' => 1, 'fields' => 'all' ) );
			$user  = empty( $found ) ? null : $found[0];
			if ( null === $user && null !== $email ) {
				$owner = get_user_by( 'email', $email );
				if ( $owner ) {
					if ( ! $flag( 'link_by_email' ) ) {
						return new WP_Error( 'email_in_use', 'A WordPress user already has this email address, and linking by email is off.', array( 'status' => 409 ) );
					}
					if ( ! $flag( 'email_verified' ) ) {
						return new WP_Error( 'email_not_verified', 'The provider has not verified this email address.', array( 'status' => 409 ) );
					}
					add_user_meta( $owner->ID, self::LINK_META, $link );
					$user = $owner;
				}
			}
			if ( null === $user ) {
				if ( ! $flag( 'create' ) ) {
					return new WP_Error( 'user_not_provisioned', 'No WordPress user is linked to this identity.', array( 'status' => 404 ) );
				}
				$id = wp_insert_user(
					array(
						'user_login'   => self::free_login( null !== $email ? strstr( $email, '@', true ) : 'user' ),
						'user_email'   => null !== $email ? $email : '',
						'user_pass'    => wp_generate_password( 32, true, true ),
						'display_name' => null !== $string( 'name' ) ? $string( 'name' ) : '',
						'role'         => empty( $roles ) ? $default : $roles[0],
					)
				);
				if ( is_wp_error( $id ) ) {
					return new WP_Error( 'provision_failed', $id->get_error_message(), array( 'status' => 409 ) );
				}
				$user = get_userdata( $id );
				foreach ( array_slice( (array) $roles, 1 ) as $role ) {
					$user->add_role( $role );
				}
				add_user_meta( $id, self::LINK_META, $link );
			} elseif ( $flag( 'update_roles' ) && null !== $roles ) {
				$want = empty( $roles ) ? array( $default ) : $roles;
				if ( array_values( $user->roles ) !== $want ) {
					$user->set_role( $want[0] );
					foreach ( array_slice( $want, 1 ) as $role ) {
						$user->add_role( $role );
					}
				}
			}
			return new WP_REST_Response( self::user_record( get_userdata( $user->ID ) ), 200 );
		} );
	}

	/**
	 * A login nobody has yet, from a wished-for one: sanitized, then numbered.
	 *
	 * @param string $wish The login wished for.
	 * @return string
	 */
	private static function free_login( $wish ) {
		$base = sanitize_user( $wish, true );
		$base = '' === $base ? 'user' : substr( $base, 0, 50 );
		$login = $base;
		for ( $i = 2; username_exists( $login ); $i++ ) {
			$login = $base . '-' . $i;
		}
		return $login;
	}
}
