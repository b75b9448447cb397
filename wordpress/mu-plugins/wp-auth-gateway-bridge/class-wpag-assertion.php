<?php
/**
 * The gateway's signed statement about this request (docs/architecture.md, "The assertion").
 *
 * @package wp-auth-gateway
 */

/**
 * Reads and verifies the X-WP-Gateway-Assertion header, once per request.
 *
 * Two kinds arrive: a REST assertion names the method and route the gateway
 * authorised (`mth`, `rte`) and who the caller is (`sub`, absent when
 * anonymous); a site assertion (no `rte`) says "came through the gateway,
 * no REST, no user".
 */
final class WPAG_Assertion {

	const ISSUER          = 'wp-auth-gateway';
	const AUDIENCE        = 'wordpress-bridge';
	const HEADER_KEY      = 'HTTP_X_WP_GATEWAY_ASSERTION';
	const MAX_LIFETIME    = 30; // Seconds between iat and exp.
	const CLOCK_SKEW      = 5;  // Seconds an iat may lie in the future.
	const MAX_EMBED_RULES = 200;
	const MAX_BATCH       = 25;

	/**
	 * Whether this request carries an assertion header at all (valid or not).
	 *
	 * @return bool
	 */
	public static function present() {
		return isset( $_SERVER[ self::HEADER_KEY ] );
	}

	/**
	 * This request's verified claims, or null (absent or invalid).
	 *
	 * @return array|null
	 */
	public static function claims() {
		static $done = false, $claims = null;
		if ( ! $done ) {
			$done = true;
			if ( self::present() ) {
				$secret = WPAG_Settings::secret();
				if ( null === $secret ) {
					error_log( 'wp-auth-gateway bridge: BRIDGE_SECRET is missing or shorter than 32 bytes; every gateway assertion is rejected.' );
				}
				$claims = self::verify( wp_unslash( (string) $_SERVER[ self::HEADER_KEY ] ), $secret, time() );
			}
		}
		return $claims;
	}

	/**
	 * Whether an assertion header is present but does not verify.
	 *
	 * @return bool
	 */
	public static function invalid() {
		return self::present() && null === self::claims();
	}

	/**
	 * The claims when this is a valid REST assertion, else null.
	 *
	 * @return array|null
	 */
	public static function rest() {
		$claims = self::claims();
		return ( null !== $claims && isset( $claims['rte'] ) ) ? $claims : null;
	}

	/**
	 * Verifies a compact JWS and returns its claims, or null when anything is off.
	 *
	 * @param mixed       $token  The compact JWS.
	 * @param string|null $secret The HS256 key.
	 * @param int         $now    Current Unix time.
	 * @return array|null
	 */
	public static function verify( $token, $secret, $now ) {
		$payload = WPAG_JWS::verify( $token, $secret );
		if ( null === $payload ) {
			return null;
		}
		$claims = json_decode( $payload, true );
		if ( ! is_array( $claims ) || ! self::claims_valid( $claims, $now ) ) {
			return null;
		}
		if ( array_key_exists( 'emb', $claims ) || array_key_exists( 'bat', $claims ) ) {
			// Decoded again without `assoc`: only then do a JSON object and a
			// JSON list stay apart ({} and [] both become array() otherwise).
			$object = json_decode( $payload );
			if ( array_key_exists( 'emb', $claims ) ) {
				$claims['emb'] = self::parse_emb( $object->emb );
				if ( null === $claims['emb'] ) {
					return null;
				}
			}
			if ( array_key_exists( 'bat', $claims ) ) {
				$claims['bat'] = self::parse_bat( $object->bat );
				if ( null === $claims['bat'] || '/batch/v1' !== $claims['rte'] ) {
					return null;
				}
			}
		}
		return $claims;
	}

	/**
	 * Checks the claims of a correctly signed assertion.
	 *
	 * @param array $c   Claims.
	 * @param int   $now Current Unix time.
	 * @return bool
	 */
	private static function claims_valid( array $c, $now ) {
		if ( ! isset( $c['iss'], $c['aud'], $c['iat'], $c['exp'], $c['via'], $c['mth'] ) ) {
			return false;
		}
		if ( self::ISSUER !== $c['iss'] || self::AUDIENCE !== $c['aud'] || ! is_int( $c['iat'] ) || ! is_int( $c['exp'] ) ) {
			return false;
		}
		if ( $c['exp'] <= $now || $c['iat'] > $now + self::CLOCK_SKEW
			|| $c['exp'] <= $c['iat'] || $c['exp'] - $c['iat'] > self::MAX_LIFETIME ) {
			return false;
		}
		if ( ! is_string( $c['via'] ) || ! preg_match( '/^[a-z]+$/', $c['via'] ) ) {
			return false;
		}
		if ( ! is_string( $c['mth'] ) || ! preg_match( '/^[A-Z]+$/', $c['mth'] ) ) {
			return false;
		}
		if ( array_key_exists( 'sub', $c ) && ( ! is_string( $c['sub'] ) || ! preg_match( '/^[1-9][0-9]{0,18}$/', $c['sub'] ) ) ) {
			return false;
		}
		if ( ! array_key_exists( 'rte', $c ) ) {
			// A site assertion: no REST route, so nobody and nothing to embed or batch.
			return 'none' === $c['via'] && ! array_key_exists( 'sub', $c ) && ! array_key_exists( 'emb', $c ) && ! array_key_exists( 'bat', $c );
		}
		return is_string( $c['rte'] ) && 0 === strpos( $c['rte'], '/' );
	}

	/**
	 * The `emb` claim, the caller's GET rules for embedded sub-requests:
	 * {"r": [[pattern, 0|1], ...], "d": 0|1}.
	 *
	 * @param mixed $emb The claim, decoded with objects as stdClass.
	 * @return array|null array( 'r' => array( array( pattern, bool ), ... ), 'd' => bool ), or null when malformed.
	 */
	private static function parse_emb( $emb ) {
		if ( ! $emb instanceof stdClass ) {
			return null;
		}
		$keys = array_keys( get_object_vars( $emb ) );
		sort( $keys );
		if ( array( 'd', 'r' ) !== $keys || ! is_array( $emb->r ) || count( $emb->r ) > self::MAX_EMBED_RULES || ! self::is_bit( $emb->d ) ) {
			return null;
		}
		$rules = array();
		foreach ( $emb->r as $rule ) {
			if ( ! is_array( $rule ) || 2 !== count( $rule ) || ! is_string( $rule[0] ) || 0 !== strpos( $rule[0], '/' ) || ! self::is_bit( $rule[1] ) ) {
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
	 * The `bat` claim, the sub-requests of a batch the gateway authorised:
	 * [[method, route], ...], routes in canonical form.
	 *
	 * @param mixed $bat The claim.
	 * @return array|null List of "METHOD route" strings, or null when malformed.
	 */
	private static function parse_bat( $bat ) {
		if ( ! is_array( $bat ) || count( $bat ) < 1 || count( $bat ) > self::MAX_BATCH ) {
			return null;
		}
		$allowed = array();
		foreach ( $bat as $entry ) {
			if ( ! is_array( $entry ) || 2 !== count( $entry ) || ! is_string( $entry[0] ) || ! preg_match( '/^[A-Z]+$/', $entry[0] )
				|| ! is_string( $entry[1] ) || 0 !== strpos( $entry[1], '/' ) ) {
				return null;
			}
			$allowed[] = $entry[0] . ' ' . $entry[1];
		}
		return $allowed;
	}

	/**
	 * Whether a decoded JSON value is exactly the integer 0 or 1.
	 *
	 * @param mixed $value Value.
	 * @return bool
	 */
	private static function is_bit( $value ) {
		return 0 === $value || 1 === $value;
	}
}
