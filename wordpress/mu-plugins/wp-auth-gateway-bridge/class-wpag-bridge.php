<?php
/**
 * Every hook of the bridge, in one place.
 *
 * @package wp-auth-gateway
 */

/**
 * Registers the bridge's hooks. The enforcement hooks are listed first: the
 * order of priorities against WordPress's own callbacks is what makes them hold.
 */
final class WPAG_Bridge {

	/**
	 * Adds every hook.
	 */
	public static function add_hooks() {
		// Enforcement (WPAG_Rest_Guard). determine_current_user runs after
		// WordPress's cookies (10, 20); rest_authentication_errors after
		// application passwords (90) and before the cookie nonce check (100);
		// rest_pre_dispatch before any plugin's.
		add_filter( 'determine_current_user', array( 'WPAG_Rest_Guard', 'determine_current_user' ), 100 );
		add_filter( 'rest_authentication_errors', array( 'WPAG_Rest_Guard', 'rest_authentication_errors' ), 99 );
		add_filter( 'rest_pre_dispatch', array( 'WPAG_Rest_Guard', 'rest_pre_dispatch' ), 0, 3 );
		add_filter( 'rest_request_before_callbacks', array( 'WPAG_Rest_Guard', 'rest_request_before_callbacks' ), 0, 3 );

		// The gateway's internal routes.
		add_action( 'rest_api_init', array( 'WPAG_Routes', 'register' ) );

		// Events: password, roles, deletion, logout.
		add_filter( 'authenticate', array( 'WPAG_Events', 'login_begin' ), -1000, 3 );
		add_filter( 'authenticate', array( 'WPAG_Events', 'login_end' ), PHP_INT_MAX );
		add_action( 'clean_user_cache', array( 'WPAG_Events', 'on_clean_user_cache' ) );
		add_action( 'wp_set_password', array( 'WPAG_Events', 'on_wp_set_password' ), 10, 2 );
		add_action( 'after_password_reset', array( 'WPAG_Events', 'on_after_password_reset' ) );
		add_action( 'profile_update', array( 'WPAG_Events', 'on_profile_update' ), 10, 2 );
		add_action( 'set_user_role', array( 'WPAG_Events', 'on_set_user_role' ), 10, 3 );
		add_action( 'add_user_role', array( 'WPAG_Events', 'on_role_added_or_removed' ) );
		add_action( 'remove_user_role', array( 'WPAG_Events', 'on_role_added_or_removed' ) );
		add_action( 'delete_user', array( 'WPAG_Events', 'on_user_deleted' ) );
		add_action( 'wpmu_delete_user', array( 'WPAG_Events', 'on_user_deleted' ) );
		add_action( 'wp_logout', array( 'WPAG_Events', 'on_logout' ) );

		// WordPress's requests to itself go through the gateway.
		add_filter( 'pre_http_request', array( 'WPAG_Loopback', 'pre_http_request' ), 10, 3 );
	}
}
