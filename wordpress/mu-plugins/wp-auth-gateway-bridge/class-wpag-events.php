<?php
/**
 * Events, WordPress → gateway: POST <WP_AUTH_GATEWAY_URL>/_gateway/events.
 *
 * @package wp-auth-gateway
 */

/**
 * Tells the gateway at once when a user's password or roles change, the user
 * is deleted or logs out, so that it ends that user's tokens.
 */
final class WPAG_Events {

	const ROUTE            = '/_gateway/events';
	const TIMEOUT          = 2; // Seconds; events block the WordPress request that caused them.
	const FINGERPRINT_META = 'wpag_password_fingerprint';

	/**
	 * The plaintext password of the login being checked right now (between the
	 * first and the last `authenticate` callback), or null.
	 *
	 * @var string|null
	 */
	private static $pending_login_password = null;

	/**
	 * True while the gateway itself changes a user (users/provision): it knows
	 * of the change already, and telling it would cut off the very token that
	 * asked for it.
	 *
	 * @var bool
	 */
	private static $quiet = false;

	/**
	 * Runs $fn with events held back (see $quiet).
	 *
	 * @param callable $fn What to run.
	 * @return mixed What $fn returns.
	 */
	public static function quietly( $fn ) {
		self::$quiet = true;
		try {
			return $fn();
		} finally {
			self::$quiet = false;
		}
	}

	/**
	 * The signed event: the whole event (type, user, time, a single-use jti)
	 * is in the signed claims, so a signature made for one event cannot carry
	 * another. Issuer and audience are the other way round from the gateway's
	 * assertions.
	 *
	 * @param string $type    Event type.
	 * @param int    $user_id User ID.
	 * @param string $secret  HS256 key.
	 * @param int    $now     Current Unix time.
	 * @return string
	 */
	public static function sign( $type, $user_id, $secret, $now ) {
		return WPAG_JWS::sign(
			array(
				'iss' => WPAG_Assertion::AUDIENCE,
				'aud' => WPAG_Assertion::ISSUER,
				'iat' => $now,
				'exp' => $now + WPAG_Assertion::MAX_LIFETIME,
				'jti' => WPAG_JWS::b64url_encode( random_bytes( 16 ) ),
				'via' => 'bridge',
				'mth' => 'POST',
				'rte' => self::ROUTE,
				'evt' => $type,
				'uid' => $user_id,
			),
			$secret
		);
	}

	/**
	 * Sends an event, at most once per (type, user) and PHP request (one user
	 * update fires several of the hooks below); a role change once per set of
	 * roles it leads to, because the REST API's user update first removes
	 * every role and then adds the new ones (WP_REST_Users_Controller::
	 * update_item), and the gateway, which re-reads the user for API keys,
	 * must see the roles the update ends with, not the empty set between.
	 * Blocking, so that the gateway has revoked before the WordPress request
	 * that caused the change finishes. A failure is logged (without secret or assertion) and never
	 * breaks the action that triggered it.
	 *
	 * @param string $type    password_changed, roles_changed, user_deleted or logout.
	 * @param int    $user_id User ID.
	 */
	public static function send( $type, $user_id ) {
		static $sent = array();
		if ( self::$quiet ) {
			return;
		}
		$user_id = (int) $user_id;
		$key = $type . ':' . $user_id;
		if ( 'roles_changed' === $type && $user_id > 0 ) {
			$user = get_userdata( $user_id );
			$key .= ':' . ( $user ? implode( ',', $user->roles ) : '' );
		}
		if ( $user_id <= 0 || isset( $sent[ $key ] ) || ! WPAG_Settings::events_enabled() ) {
			return;
		}
		$sent[ $key ] = true; // Also after a failure: one timeout per event is enough.

		try {
			$response = wp_remote_post(
				WPAG_Settings::gateway_url() . self::ROUTE,
				array(
					'timeout'     => self::TIMEOUT,
					'blocking'    => true,
					'redirection' => 0,
					'headers'     => array(
						'Content-Type'           => 'application/json',
						'X-WP-Gateway-Assertion' => self::sign( $type, $user_id, WPAG_Settings::secret(), time() ),
					),
					'body'        => wp_json_encode(
						array(
							'type'    => $type,
							'user_id' => $user_id,
						)
					),
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

	/* --- password changes ------------------------------------------------ */

	/**
	 * The user's password hash as it is in the database now (not from the
	 * user cache, which may hold the old one), or null when the row is gone.
	 *
	 * @param int $user_id User ID.
	 * @return string|null
	 */
	private static function current_password_hash( $user_id ) {
		global $wpdb;
		$hash = $wpdb->get_var( $wpdb->prepare( "SELECT user_pass FROM {$wpdb->users} WHERE ID = %d", $user_id ) );
		return null === $hash ? null : (string) $hash;
	}

	/**
	 * A keyed fingerprint of a password hash, so the hash is not stored twice.
	 * Prefixed with an identifier of the key: after BRIDGE_SECRET is rotated,
	 * every stored fingerprint differs, and that must read as "first sight",
	 * not as a password change of every user.
	 *
	 * @param string $hash   Password hash (users.user_pass).
	 * @param string $secret BRIDGE_SECRET.
	 * @return string
	 */
	private static function fingerprint( $hash, $secret ) {
		$key_id = substr( hash_hmac( 'sha256', 'wpag-password-fingerprint-key', $secret ), 0, 8 );
		return $key_id . ':' . hash_hmac( 'sha256', $hash, $secret );
	}

	/**
	 * authenticate, first: remember the password under test. Logging in may
	 * rehash the stored password without changing it (WordPress 6.1's
	 * wp_check_password() upgrades an MD5 hash; from 6.8 phpass becomes
	 * bcrypt), both through wp_set_password(). That is no password change and
	 * must not revoke the tokens of a user who is just logging in.
	 *
	 * @param mixed  $user     What earlier callbacks returned (passed through).
	 * @param string $username Login (unused).
	 * @param string $password Plaintext password.
	 * @return mixed
	 */
	public static function login_begin( $user, $username = '', $password = '' ) {
		self::$pending_login_password = is_string( $password ) && '' !== $password ? $password : null;
		return $user;
	}

	/**
	 * authenticate, last: the login check is over.
	 *
	 * @param mixed $user Result (passed through).
	 * @return mixed
	 */
	public static function login_end( $user ) {
		self::$pending_login_password = null;
		return $user;
	}

	/**
	 * Whether a new hash only re-encodes the password of the login in progress.
	 * No user ID to wp_check_password(): with one it would rehash an MD5 hash itself.
	 *
	 * @param string $hash New password hash.
	 * @return bool
	 */
	private static function is_login_rehash( $hash ) {
		return null !== self::$pending_login_password && wp_check_password( self::$pending_login_password, $hash );
	}

	/**
	 * Compares the user's password hash with the fingerprint stored when it was
	 * last seen, stores the current one, and – if $notify and a different one
	 * had been stored – sends password_changed. First sight only stores.
	 *
	 * @param int  $user_id User ID.
	 * @param bool $notify  Whether a change is sent (false: record only).
	 */
	public static function check_password_fingerprint( $user_id, $notify ) {
		// A plugin hooked into meta updates might clean the user cache: no recursion.
		static $busy = false;
		if ( $busy || $user_id <= 0 || ! WPAG_Settings::events_enabled() ) {
			return;
		}
		$busy = true;
		try {
			$hash = self::current_password_hash( $user_id );
			if ( null === $hash ) {
				return; // Deleted (wp_delete_user() cleans the cache after the row is gone).
			}
			$current = self::fingerprint( $hash, WPAG_Settings::secret() );
			$stored = (string) get_user_meta( $user_id, self::FINGERPRINT_META, true );
			if ( $stored === $current ) {
				return;
			}
			update_user_meta( $user_id, self::FINGERPRINT_META, $current );
			$same_key = '' !== $stored && strstr( $stored, ':', true ) === strstr( $current, ':', true );
			if ( $notify && $same_key && ! self::is_login_rehash( $hash ) ) {
				self::send( 'password_changed', $user_id );
			}
		} finally {
			$busy = false;
		}
	}

	/**
	 * clean_user_cache (clean_user_cache(), user.php). WordPress 6.1's
	 * wp_set_password() (pluggable.php) fires no password hook of its own, only
	 * this one, as do wp_insert_user() and wp_update_user(); so a password
	 * change is found here by comparing the stored hash with the last one seen.
	 *
	 * @param int $user_id User ID.
	 */
	public static function on_clean_user_cache( $user_id ) {
		self::check_password_fingerprint( (int) $user_id, true );
	}

	/**
	 * wp_set_password (WordPress >= 6.2, pluggable.php): the password was set.
	 *
	 * @param string $password Plaintext password.
	 * @param int    $user_id  User ID.
	 */
	public static function on_wp_set_password( $password, $user_id ) {
		$pending = self::$pending_login_password;
		if ( null !== $pending && is_string( $password ) && hash_equals( $pending, $password ) ) {
			return; // A rehash during login.
		}
		self::send( 'password_changed', (int) $user_id );
	}

	/**
	 * after_password_reset (reset_password(), user.php).
	 *
	 * @param WP_User $user The user.
	 */
	public static function on_after_password_reset( $user ) {
		if ( $user instanceof WP_User ) {
			self::send( 'password_changed', (int) $user->ID );
		}
	}

	/**
	 * profile_update (wp_insert_user(), user.php): compare old and new hash.
	 *
	 * @param int     $user_id       User ID.
	 * @param WP_User $old_user_data The user before the update.
	 */
	public static function on_profile_update( $user_id, $old_user_data ) {
		if ( ! is_object( $old_user_data ) || ! isset( $old_user_data->user_pass ) ) {
			return;
		}
		$hash = self::current_password_hash( (int) $user_id );
		if ( null !== $hash && ! hash_equals( (string) $old_user_data->user_pass, $hash ) ) {
			self::send( 'password_changed', (int) $user_id );
		}
	}

	/* --- roles, deletion, logout ----------------------------------------- */

	/**
	 * set_user_role (WP_User::set_role(), class-wp-user.php): only a real change.
	 *
	 * @param int      $user_id   User ID.
	 * @param string   $role      New role ('' removes all).
	 * @param string[] $old_roles Roles before.
	 */
	public static function on_set_user_role( $user_id, $role, $old_roles = array() ) {
		$new = '' === (string) $role ? array() : array( (string) $role );
		$old = array_values( array_unique( array_filter( array_map( 'strval', (array) $old_roles ) ) ) );
		sort( $old );
		if ( $new !== $old ) {
			self::send( 'roles_changed', (int) $user_id );
		}
	}

	/**
	 * add_user_role, remove_user_role (class-wp-user.php): fired only when the
	 * role was really added or removed.
	 *
	 * @param int $user_id User ID.
	 */
	public static function on_role_added_or_removed( $user_id ) {
		self::send( 'roles_changed', (int) $user_id );
	}

	/**
	 * delete_user (wp-admin/includes/user.php) and wpmu_delete_user
	 * (wp-admin/includes/ms.php): fired before the row is deleted.
	 *
	 * @param int $user_id User ID.
	 */
	public static function on_user_deleted( $user_id ) {
		self::send( 'user_deleted', (int) $user_id );
	}

	/**
	 * wp_logout (pluggable.php; the user ID since WordPress 5.5).
	 *
	 * @param int $user_id User ID (0 when nobody was logged in).
	 */
	public static function on_logout( $user_id = 0 ) {
		self::send( 'logout', (int) $user_id );
	}
}
