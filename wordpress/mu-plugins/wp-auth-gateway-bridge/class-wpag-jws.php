<?php
/**
 * Compact JWS with HS256 (RFC 7515), the only kind the gateway and the bridge exchange.
 *
 * @package wp-auth-gateway
 */

/**
 * Signs and verifies HS256 compact JWS. Written here rather than taken from a
 * library: WordPress ships none, and the one shape needed is a few lines.
 */
final class WPAG_JWS {

	const HEADER     = '{"alg":"HS256","typ":"JWT"}';
	const MAX_LENGTH = 16384;

	/**
	 * Unpadded base64url (RFC 7515 §2).
	 *
	 * @param string $data Bytes.
	 * @return string
	 */
	public static function b64url_encode( $data ) {
		return rtrim( strtr( base64_encode( $data ), '+/', '-_' ), '=' );
	}

	/**
	 * Strict, unpadded base64url; false on any other input.
	 *
	 * @param string $part One JWS segment.
	 * @return string|false
	 */
	public static function b64url_decode( $part ) {
		if ( '' === $part || ! preg_match( '/^[A-Za-z0-9_-]+$/', $part ) ) {
			return false;
		}
		return base64_decode( strtr( $part, '-_', '+/' ), true );
	}

	/**
	 * Signs claims. Slashes stay unescaped, as the gateway writes them.
	 *
	 * @param array  $claims Claims.
	 * @param string $secret HS256 key.
	 * @return string
	 */
	public static function sign( array $claims, $secret ) {
		$input = self::b64url_encode( self::HEADER ) . '.' . self::b64url_encode( wp_json_encode( $claims, JSON_UNESCAPED_SLASHES ) );
		return $input . '.' . self::b64url_encode( hash_hmac( 'sha256', $input, $secret, true ) );
	}

	/**
	 * The verified payload (raw JSON), or null. The header must say exactly
	 * HS256 (no "none", no algorithm confusion) and the signature must be the
	 * canonical encoding, compared in constant time.
	 *
	 * @param mixed       $token  Compact JWS.
	 * @param string|null $secret HS256 key (null: nothing is trusted).
	 * @return string|null
	 */
	public static function verify( $token, $secret ) {
		if ( null === $secret || ! is_string( $token ) || strlen( $token ) > self::MAX_LENGTH ) {
			return null;
		}
		$parts = explode( '.', $token );
		if ( 3 !== count( $parts ) ) {
			return null;
		}
		list( $header_b64, $payload_b64, $signature_b64 ) = $parts;
		$header = json_decode( (string) self::b64url_decode( $header_b64 ), true );
		if ( ! is_array( $header ) || ! isset( $header['alg'] ) || 'HS256' !== $header['alg'] || isset( $header['crit'] ) ) {
			return null;
		}
		$expected = self::b64url_encode( hash_hmac( 'sha256', $header_b64 . '.' . $payload_b64, $secret, true ) );
		if ( ! hash_equals( $expected, $signature_b64 ) ) {
			return null;
		}
		$payload = self::b64url_decode( $payload_b64 );
		return false === $payload ? null : $payload;
	}
}
