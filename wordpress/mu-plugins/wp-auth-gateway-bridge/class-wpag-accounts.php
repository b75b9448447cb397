<?php
/**
 * Registration and password reset for the gateway, through WordPress's own
 * flows: /wp-json/gateway-bridge/v1/register and password/….
 *
 * @package wp-auth-gateway
 */

/**
 * Each route runs the function WordPress's own forms run (wp-login.php), so
 * every plugin hooked into registration, password rules and mail keeps
 * working: register_new_user(), retrieve_password(),
 * check_password_reset_key() and reset_password(), wp_set_password(). No
 * route takes a role: a new user gets the site's default role.
 */
final class WPAG_Accounts {

	/*
	 * Capabilities a self-registered user must never get: a default role that
	 * has one is a misconfiguration (or an attack on the option), and
	 * registration refuses rather than hand it out.
	 */
	const DANGEROUS_CAPS = array( 'manage_options', 'promote_users', 'edit_users', 'create_users', 'activate_plugins', 'unfiltered_html' );

	/**
	 * The routes, for WPAG_Routes::register().
	 *
	 * @return array<string, array{0: string, 1: callable}>
	 */
	public static function routes() {
		return array(
			'/register'         => array( 'POST', array( __CLASS__, 'register' ) ),
			'/password/forgot'  => array( 'POST', array( __CLASS__, 'forgot' ) ),
			'/password/reset'   => array( 'POST', array( __CLASS__, 'reset' ) ),
			'/password/set'     => array( 'POST', array( __CLASS__, 'set' ) ),
		);
	}

	/**
	 * A string parameter of the JSON body, or null.
	 *
	 * @param WP_REST_Request $request The request.
	 * @param string          $key     Parameter.
	 * @return string|null
	 */
	private static function string_param( $request, $key ) {
		$p = $request->get_json_params();
		return is_array( $p ) && isset( $p[ $key ] ) && is_string( $p[ $key ] ) ? $p[ $key ] : null;
	}

	/**
	 * WordPress's messages without their HTML (`<strong>Error:</strong> …`).
	 *
	 * @param WP_Error $errors Errors.
	 * @return string[]
	 */
	private static function messages( WP_Error $errors ) {
		return array_values(
			array_map(
				function ( $m ) {
					return trim( preg_replace( '/^Error:\s*/', '', trim( wp_strip_all_tags( (string) $m ) ) ) );
				},
				$errors->get_error_messages()
			)
		);
	}

	/**
	 * Whether the default role may go to anyone who registers.
	 *
	 * @param string $role Role name.
	 * @return bool
	 */
	private static function safe_role( $role ) {
		$object = get_role( $role );
		if ( ! $object ) {
			return false;
		}
		foreach ( self::DANGEROUS_CAPS as $cap ) {
			if ( $object->has_cap( $cap ) ) {
				return false;
			}
		}
		return true;
	}

	/**
	 * The operator's app link (`myapp://reset?key={key}&login={login}`) in
	 * place of WordPress's wp-login.php?action=rp link in a mail. The template
	 * comes from the gateway's configuration, never from a client.
	 *
	 * @param string $message  Mail text.
	 * @param string $template Link template with {key} and {login}.
	 * @return string
	 */
	public static function app_link( $message, $template ) {
		return preg_replace_callback(
			'#\S*wp-login\.php\?action=rp&key=([A-Za-z0-9]+)&login=([^\s&]+)(?:&wp_lang=[^\s]*)?#',
			function ( $m ) use ( $template ) {
				return str_replace( array( '{key}', '{login}' ), array( rawurlencode( $m[1] ), rawurlencode( rawurldecode( $m[2] ) ) ), $template );
			},
			(string) $message
		);
	}

	/**
	 * The reset link template the gateway sent, when it is one: {key} and
	 * {login} in it, a scheme, no whitespace, no script or data scheme.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return string|null
	 */
	private static function reset_url( $request ) {
		$url = self::string_param( $request, 'reset_url' );
		if ( null === $url || strlen( $url ) > 2048 || preg_match( '/\s/', $url ) || false === strpos( $url, '{key}' ) || false === strpos( $url, '{login}' ) ) {
			return null;
		}
		if ( ! preg_match( '#^([a-z][a-z0-9+.-]*):#i', $url, $m ) || in_array( strtolower( $m[1] ), array( 'javascript', 'data', 'vbscript', 'file' ), true ) ) {
			return null;
		}
		return $url;
	}

	/**
	 * Runs $fn with WordPress's reset links in mails replaced by the app link.
	 *
	 * @param string|null $template Link template, or null: WordPress's own link.
	 * @param callable    $fn       What to run.
	 * @return mixed
	 */
	private static function with_app_link( $template, $fn ) {
		if ( null === $template ) {
			return $fn();
		}
		$reset = function ( $message ) use ( $template ) {
			return self::app_link( $message, $template );
		};
		$new_user = function ( $mail ) use ( $template ) {
			if ( is_array( $mail ) && isset( $mail['message'] ) ) {
				$mail['message'] = self::app_link( $mail['message'], $template );
			}
			return $mail;
		};
		add_filter( 'retrieve_password_message', $reset, PHP_INT_MAX );
		add_filter( 'wp_new_user_notification_email', $new_user, PHP_INT_MAX );
		try {
			return $fn();
		} finally {
			remove_filter( 'retrieve_password_message', $reset, PHP_INT_MAX );
			remove_filter( 'wp_new_user_notification_email', $new_user, PHP_INT_MAX );
		}
	}

	/**
	 * Runs $fn with REMOTE_ADDR set to the client's address the gateway names
	 * (`client_ip`): behind the gateway WordPress sees the gateway's, and the
	 * hooks that run here (spam and lockout plugins on register_post or
	 * lostpassword_post) and the reset mail ("This password reset request
	 * originated from the IP address …") mean the client's.
	 *
	 * @param WP_REST_Request $request The request.
	 * @param callable        $fn      What to run.
	 * @return mixed
	 */
	private static function as_client( $request, $fn ) {
		$ip = self::string_param( $request, 'client_ip' );
		if ( null === $ip || false === filter_var( $ip, FILTER_VALIDATE_IP ) ) {
			return $fn();
		}
		$had = isset( $_SERVER['REMOTE_ADDR'] );
		$old = $had ? $_SERVER['REMOTE_ADDR'] : null;
		$_SERVER['REMOTE_ADDR'] = $ip;
		try {
			return $fn();
		} finally {
			if ( $had ) {
				$_SERVER['REMOTE_ADDR'] = $old;
			} else {
				unset( $_SERVER['REMOTE_ADDR'] );
			}
		}
	}

	/**
	 * POST register {username, email, password?, open, reset_url?, client_ip?}.
	 * register_new_user() (user.php) decides, as on wp-login.php?action=register:
	 * sanitize_user, validate_username, taken names and addresses, the
	 * register_post and registration_errors hooks, then wp_create_user() with
	 * the default role and the register_new_user action (WordPress's mails).
	 * A password chosen by the client is stored in place of WordPress's random
	 * one (wp_pre_insert_user_data, for this one insert), and the user is then
	 * not sent a "set your password" link. `open`: the gateway's configuration
	 * opens registration whatever users_can_register says.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function register( $request ) {
		$username = self::string_param( $request, 'username' );
		$email    = self::string_param( $request, 'email' );
		$password = self::string_param( $request, 'password' );
		$open     = true === $request->get_param( 'open' );
		if ( null === $username || null === $email ) {
			return new WP_Error( 'invalid_request', 'username and email are required.', array( 'status' => 400 ) );
		}
		if ( ! $open && ! get_option( 'users_can_register' ) ) {
			return new WP_Error( 'registration_closed', 'Registration is closed on this site.', array( 'status' => 403 ) );
		}
		$role = (string) get_option( 'default_role' );
		if ( ! self::safe_role( $role ) ) {
			error_log( sprintf( 'wp-auth-gateway bridge: registration refused: the default role "%s" is missing or can manage users or the site', $role ) );
			return new WP_Error( 'registration_closed', 'Registration is closed on this site.', array( 'status' => 403 ) );
		}

		$chosen = null !== $password && '' !== $password;
		$login  = sanitize_user( $username );
		$set_password = function ( $data, $update, $user_id, $userdata ) use ( $password, $login ) {
			if ( ! $update && isset( $userdata['user_login'] ) && $userdata['user_login'] === $login ) {
				$data['user_pass'] = wp_hash_password( $password );
			}
			return $data;
		};
		// The user chose a password: only the administrator's notification, no "set your password" mail.
		$notify = has_action( 'register_new_user', 'wp_send_new_user_notifications' );
		$admin_only = function ( $user_id ) {
			wp_send_new_user_notifications( $user_id, 'admin' );
		};
		if ( $chosen ) {
			add_filter( 'wp_pre_insert_user_data', $set_password, PHP_INT_MAX, 4 );
			if ( false !== $notify ) {
				remove_action( 'register_new_user', 'wp_send_new_user_notifications', $notify );
				add_action( 'register_new_user', $admin_only, $notify );
			}
		}
		try {
			$id = self::with_app_link(
				self::reset_url( $request ),
				function () use ( $request, $username, $email ) {
					return self::as_client(
						$request,
						function () use ( $username, $email ) {
							return register_new_user( $username, $email );
						}
					);
				}
			);
		} finally {
			if ( $chosen ) {
				remove_filter( 'wp_pre_insert_user_data', $set_password, PHP_INT_MAX );
				if ( false !== $notify ) {
					remove_action( 'register_new_user', $admin_only, $notify );
					add_action( 'register_new_user', 'wp_send_new_user_notifications', $notify );
				}
			}
		}

		if ( is_wp_error( $id ) ) {
			$codes = $id->get_error_codes();
			// Only "taken": the gateway may be told to answer it like a success, so it costs what a success costs.
			$taken = array() === array_diff( $codes, array( 'username_exists', 'email_exists' ) );
			if ( $taken ) {
				wp_hash_password( (string) $password );
			}
			// Each refusal with its code: the gateway may have to leave out the ones that say "taken".
			$errors = array();
			foreach ( $codes as $code ) {
				$one = new WP_Error();
				foreach ( $id->get_error_messages( $code ) as $message ) {
					$one->add( $code, $message );
				}
				$errors[] = array(
					'code'    => $code,
					'message' => implode( ' ', self::messages( $one ) ),
				);
			}
			return new WP_Error(
				'registration_invalid',
				implode( ' ', self::messages( $id ) ),
				array(
					'status' => 400,
					'errors' => $errors,
					'taken'  => $taken,
				)
			);
		}
		if ( $chosen ) {
			delete_user_meta( $id, 'default_password_nag' );
		}
		$user = get_userdata( $id );
		$record = WPAG_Routes::user_record( $user );
		$record['password_set'] = $chosen;
		return new WP_REST_Response( $record, 201 );
	}

	/**
	 * POST password/forgot {login, send, reset_url?, client_ip?}. Without `send`, only
	 * which account the login names (for the gateway's per-account mail
	 * limit). With it, retrieve_password() (user.php) runs for known and
	 * unknown logins alike (its lostpassword_post and lostpassword_errors
	 * hooks, its mail), and the answer says nothing of which it was.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response
	 */
	public static function forgot( $request ) {
		$login = self::string_param( $request, 'login' );
		$login = null === $login ? '' : $login;
		$account = WPAG_Routes::account( $login );
		if ( true !== $request->get_param( 'send' ) ) {
			return new WP_REST_Response( array( 'account' => $account ), 200 );
		}
		$result = '' === trim( $login ) ? null : self::with_app_link(
			self::reset_url( $request ),
			function () use ( $request, $login ) {
				return self::as_client(
					$request,
					function () use ( $login ) {
						return retrieve_password( $login );
					}
				);
			}
		);
		if ( is_wp_error( $result ) && ! in_array( $result->get_error_code(), array( 'invalidcombo', 'invalid_email', 'empty_username' ), true ) ) {
			// A mail that could not go out, or a plugin's refusal: for the operator's log, never for the client.
			error_log( 'wp-auth-gateway bridge: password reset mail not sent: ' . $result->get_error_code() );
		}
		return new WP_REST_Response( array( 'account' => $account ), 200 );
	}

	/**
	 * The one answer to every reset key that does not open the account:
	 * unknown login, wrong key, used key, expired key, another user's key.
	 *
	 * @param string $account See WPAG_Routes::account().
	 * @return WP_Error
	 */
	private static function invalid_key( $account ) {
		return new WP_Error(
			'invalid_key',
			'The password reset key is invalid or has expired.',
			array(
				'status'  => 400,
				'account' => $account,
			)
		);
	}

	/**
	 * The validate_password_reset hook (wp-login.php runs it before
	 * reset_password()), where password policy plugins refuse a password.
	 *
	 * @param WP_User $user     The user.
	 * @param string  $password The new password.
	 * @return WP_Error|null
	 */
	private static function password_refused( WP_User $user, $password ) {
		$errors = new WP_Error();
		$_POST['pass1'] = $password; // Plugins hooked here read the form field wp-login.php posts.
		try {
			do_action( 'validate_password_reset', $errors, $user );
		} finally {
			unset( $_POST['pass1'] );
		}
		if ( ! $errors->has_errors() ) {
			return null;
		}
		return new WP_Error( 'password_refused', implode( ' ', self::messages( $errors ) ), array( 'status' => 400 ) );
	}

	/**
	 * POST password/reset {login, key, password, client_ip?}: check_password_reset_key(),
	 * then reset_password() (user.php), whose wp_set_password() makes the key
	 * unusable and whose after_password_reset sends the gateway the
	 * password_changed event.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function reset( $request ) {
		$login    = self::string_param( $request, 'login' );
		$key      = self::string_param( $request, 'key' );
		$password = self::string_param( $request, 'password' );
		if ( null === $login || null === $key || null === $password || '' === $password ) {
			return self::invalid_key( 'unknown:' );
		}
		$account = WPAG_Routes::account( $login );
		if ( 0 === strpos( $account, 'unknown:' ) ) {
			wp_check_password( $key, WPAG_Routes::DUMMY_HASH ); // No key was checked: spend the same time anyway.
		}
		$user = check_password_reset_key( $key, $login );
		if ( ! $user instanceof WP_User ) {
			return self::invalid_key( $account );
		}
		$refused = self::password_refused( $user, $password );
		if ( null !== $refused ) {
			return $refused;
		}
		self::as_client(
			$request,
			function () use ( $user, $password ) {
				reset_password( $user, $password );
			}
		);
		$record            = WPAG_Routes::user_record( get_userdata( $user->ID ) );
		$record['account'] = 'user:' . (int) $user->ID;
		return new WP_REST_Response( $record, 200 );
	}

	/**
	 * POST password/set {user_id, password}: a signed-in user's new password
	 * (the gateway has checked the current one through authenticate), set with
	 * wp_set_password() after the validate_password_reset hook. The bridge
	 * sees the new hash and sends the gateway the password_changed event.
	 *
	 * @param WP_REST_Request $request The request.
	 * @return WP_REST_Response|WP_Error
	 */
	public static function set( $request ) {
		$id       = $request->get_param( 'user_id' );
		$password = self::string_param( $request, 'password' );
		$user     = is_int( $id ) && $id > 0 ? get_userdata( $id ) : false;
		if ( ! $user || null === $password || '' === $password ) {
			return new WP_Error( 'user_not_found', 'User not found.', array( 'status' => 404 ) );
		}
		$refused = self::password_refused( $user, $password );
		if ( null !== $refused ) {
			return $refused;
		}
		wp_set_password( $password, $user->ID );
		update_user_meta( $user->ID, 'default_password_nag', false );
		return new WP_REST_Response( WPAG_Routes::user_record( get_userdata( $user->ID ) ), 200 );
	}
}
