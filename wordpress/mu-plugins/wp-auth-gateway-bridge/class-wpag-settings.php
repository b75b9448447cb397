<?php
/**
 * The bridge's settings: constants first, then the environment.
 *
 * @package wp-auth-gateway
 */

/**
 * Reads the bridge's settings.
 */
final class WPAG_Settings {

	const MIN_SECRET_BYTES = 32;

	/**
	 * A setting from the constant of that name, else from the environment.
	 *
	 * @param string $name Constant / environment variable name.
	 * @return mixed|null The value, or null when neither is set.
	 */
	public static function get( $name ) {
		if ( defined( $name ) ) {
			return constant( $name );
		}
		$value = getenv( $name );
		return false === $value ? null : $value;
	}

	/**
	 * The shared HS256 key, or null when it is missing or too short to be
	 * trusted. BRIDGE_SECRET_FILE (a Docker secret) keeps the value out of the
	 * environment, where every plugin and phpinfo() could read it.
	 *
	 * @return string|null
	 */
	public static function secret() {
		static $secret = false;
		if ( false === $secret ) {
			$value = self::get( 'BRIDGE_SECRET' );
			$file = self::get( 'BRIDGE_SECRET_FILE' );
			if ( ( null === $value || '' === $value ) && is_string( $file ) && '' !== $file && is_readable( $file ) ) {
				$value = rtrim( (string) file_get_contents( $file ), "\r\n" );
			}
			$secret = ( is_string( $value ) && strlen( $value ) >= self::MIN_SECRET_BYTES ) ? $value : null;
		}
		return $secret;
	}

	/**
	 * The gateway's base URL (without trailing slash), or null.
	 *
	 * @return string|null
	 */
	public static function gateway_url() {
		$url = self::get( 'WP_AUTH_GATEWAY_URL' );
		return ( is_string( $url ) && '' !== $url ) ? untrailingslashit( $url ) : null;
	}

	/**
	 * Whether events are sent: a gateway URL and a usable secret to sign with.
	 *
	 * @return bool
	 */
	public static function events_enabled() {
		return null !== self::gateway_url() && null !== self::secret();
	}

	/**
	 * Whether every REST dispatch needs a valid assertion. On unless turned
	 * off explicitly: an unasserted REST request is never accepted by default.
	 *
	 * @return bool
	 */
	public static function require_assertion() {
		$value = self::get( 'WP_GATEWAY_REQUIRE_ASSERTION' );
		if ( null === $value || true === $value || 1 === $value ) {
			return true;
		}
		if ( false === $value || 0 === $value ) {
			return false;
		}
		return ! in_array( strtolower( trim( (string) $value ) ), array( '0', 'false', 'off', 'no' ), true );
	}
}
