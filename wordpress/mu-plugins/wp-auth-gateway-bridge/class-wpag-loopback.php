<?php
/**
 * WordPress's requests to itself, sent through the gateway.
 *
 * @package wp-auth-gateway
 */

/**
 * Cron spawning (wp-cron.php), Site Health's loopback and REST checks and
 * other requests WordPress makes to its own address go to `home_url()`. Behind
 * the gateway that address is the gateway's public one, which inside a
 * container often leads nowhere (http://localhost:8080 is the container
 * itself). Such requests are sent to WP_AUTH_GATEWAY_URL instead, with the
 * public Host, so they take the path a visitor's request takes.
 */
final class WPAG_Loopback {

	/**
	 * pre_http_request (WP_Http::request(), class-wp-http.php).
	 *
	 * @param false|array|WP_Error $preempt Response to use instead, or false.
	 * @param array                $args    Request arguments.
	 * @param string               $url     Request URL.
	 * @return false|array|WP_Error
	 */
	public static function pre_http_request( $preempt, $args, $url ) {
		$gateway = WPAG_Settings::gateway_url();
		if ( false !== $preempt || null === $gateway || ! is_array( $args ) || ( isset( $args['headers'] ) && ! is_array( $args['headers'] ) ) ) {
			return $preempt;
		}
		$target = wp_parse_url( $url );
		$home = wp_parse_url( home_url() );
		$via = wp_parse_url( $gateway );
		if ( ! is_array( $target ) || ! is_array( $home ) || ! is_array( $via ) || ! isset( $target['host'], $home['host'], $via['host'] ) ) {
			return $preempt;
		}
		if ( self::origin( $target ) !== self::origin( $home ) || self::origin( $target ) === self::origin( $via ) ) {
			return $preempt; // Not to itself, or the site's own address already is the gateway's.
		}
		$path = ( isset( $target['path'] ) ? $target['path'] : '/' ) . ( isset( $target['query'] ) ? '?' . $target['query'] : '' );
		$args['headers'] = isset( $args['headers'] ) ? $args['headers'] : array();
		$args['headers']['Host'] = $target['host'] . ( isset( $target['port'] ) ? ':' . $target['port'] : '' );
		$args['headers']['X-Forwarded-Proto'] = isset( $target['scheme'] ) ? $target['scheme'] : 'http';
		return wp_remote_request( $gateway . $path, $args );
	}

	/**
	 * Scheme-less host and port, lower-cased.
	 *
	 * @param array $parts wp_parse_url() result.
	 * @return string
	 */
	private static function origin( array $parts ) {
		$scheme = isset( $parts['scheme'] ) ? strtolower( $parts['scheme'] ) : 'http';
		$port = isset( $parts['port'] ) ? (int) $parts['port'] : ( 'https' === $scheme ? 443 : 80 );
		return strtolower( $parts['host'] ) . ':' . $port;
	}
}
