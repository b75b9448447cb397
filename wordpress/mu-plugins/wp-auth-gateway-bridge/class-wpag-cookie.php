<?php
/**
 * WordPress's own login cookie and REST nonce, checked for the gateway.
 *
 * @package wp-auth-gateway
 */

/**
 * Answers "is this Cookie header plus X-WP-Nonce a logged-in REST caller, and
 * who?" with the checks WordPress makes for such a REST request
 * (wp_validate_logged_in_cookie(), user.php; rest_cookie_check_errors(), rest-api.php).
 */
final class WPAG_Cookie {

	const MAX_COOKIE_LENGTH = 8192;
	const MAX_NONCE_LENGTH  = 64;

	/**
	 * The user a Cookie header and nonce belong to, or null.
	 *
	 * @param mixed $cookie Cookie header value.
	 * @param mixed $nonce  X-WP-Nonce value.
	 * @return WP_User|null
	 */
	public static function user( $cookie, $nonce ) {
		if ( ! is_string( $cookie ) || ! is_string( $nonce ) || '' === $nonce
			|| strlen( $cookie ) > self::MAX_COOKIE_LENGTH || strlen( $nonce ) > self::MAX_NONCE_LENGTH ) {
			return null;
		}
		$value = self::value( $cookie, LOGGED_IN_COOKIE );
		// Never pass '' on: wp_validate_auth_cookie() would read this request's own $_COOKIE.
		if ( null === $value || '' === $value ) {
			return null;
		}
		$user_id = (int) wp_validate_auth_cookie( $value, 'logged_in' );
		if ( $user_id <= 0 || ! self::nonce_valid( $user_id, $value, $nonce ) ) {
			return null;
		}
		$user = get_userdata( $user_id );
		return $user ? $user : null;
	}

	/**
	 * The value PHP would put into $_COOKIE[ $name ] for a Cookie header, or
	 * null (absent, or an array). Written by hand because PHP's rules are the
	 * point: php_default_treat_data() and php_register_variable_ex()
	 * (main/php_variables.c) split pairs at ";", drop leading white space of a
	 * name, read " " and "." as "_", make "name[...]" an array, keep the first
	 * of duplicate names, and raw-URL-decode the value ("+" stays "+").
	 *
	 * @param string $header Cookie header value.
	 * @param string $name   Cookie name.
	 * @return string|null
	 */
	public static function value( $header, $name ) {
		$seen = array();
		foreach ( explode( ';', $header ) as $pair ) {
			$pair = ltrim( $pair, " \t\n\r\v\f" );
			$eq = strpos( $pair, '=' );
			$raw_name = false === $eq ? $pair : substr( $pair, 0, $eq );
			if ( '' === $raw_name ) {
				continue;
			}
			list( $key, $is_array ) = self::php_name( $raw_name );
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
	private static function php_name( $raw_name ) {
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
	 * Whether a wp_rest nonce is valid for a user and the session of a login
	 * cookie. wp_verify_nonce() (pluggable.php) checks against the current
	 * user and wp_get_session_token() (user.php), which reads
	 * $_COOKIE[ LOGGED_IN_COOKIE ]: both are set to the client's for the check
	 * and restored afterwards.
	 *
	 * @param int    $user_id      User the cookie belongs to.
	 * @param string $cookie_value Logged-in cookie value.
	 * @param string $nonce        X-WP-Nonce value.
	 * @return bool
	 */
	private static function nonce_valid( $user_id, $cookie_value, $nonce ) {
		$previous_user = get_current_user_id();
		$had_cookie = array_key_exists( LOGGED_IN_COOKIE, $_COOKIE );
		$previous_cookie = $had_cookie ? $_COOKIE[ LOGGED_IN_COOKIE ] : null;
		$_COOKIE[ LOGGED_IN_COOKIE ] = $cookie_value;
		try {
			wp_set_current_user( $user_id );
			return (bool) wp_verify_nonce( $nonce, 'wp_rest' );
		} finally {
			if ( $had_cookie ) {
				$_COOKIE[ LOGGED_IN_COOKIE ] = $previous_cookie;
			} else {
				unset( $_COOKIE[ LOGGED_IN_COOKIE ] );
			}
			wp_set_current_user( $previous_user );
		}
	}
}
