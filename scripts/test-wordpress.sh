#!/usr/bin/env bash
# Start/stop a real WordPress for tests on a machine without Docker (DESIGN.md §8).
#
#   scripts/test-wordpress.sh start|stop|status
#
# Debian packages only (php-cli php-mysql wordpress mariadb-server redis-server),
# installed on first use when missing. WordPress is served by PHP's built-in
# server with the bridge mu-plugin of this repository linked in.
#
# Settings (environment):
#   WP_TEST_PORT   port on 127.0.0.1            (default 8890)
#   WP_TEST_GATEWAY_PORT  port on 127.0.0.1 where the bridge sends its events
#                  (WP_AUTH_GATEWAY_URL; tests run a gateway there)  (default 8891)
#   WP_TEST_DB     MariaDB database             (default wpag_test)
#   BRIDGE_SECRET  shared with the gateway      (default: fixed test value below)
#   WP_TEST_DIR    state dir                    (default <repo>/.wp-test)
#
# Users (password "<login>-password-123", email "<login>@example.test"):
#   admin, editor, author, contributor, subscriber — each with the role of its name
#   (admin: administrator).
#
# Other PHP CLI scripts can load this WordPress with
#   require '<WP_TEST_DIR>/load.php';

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${WP_TEST_PORT:-8890}"
GATEWAY_PORT="${WP_TEST_GATEWAY_PORT:-8891}"
DB="${WP_TEST_DB:-wpag_test}"
SECRET="${BRIDGE_SECRET:-test-bridge-secret-0123456789abcdef0123456789abcdef}"
DIR="${WP_TEST_DIR:-$REPO/.wp-test}"
WP_ROOT=/usr/share/wordpress
BRIDGE_FILE="$REPO/wordpress/mu-plugins/wp-auth-gateway-bridge.php"
URL="http://127.0.0.1:$PORT"
# Debian's wp-config.php picks /etc/wordpress/config-$WORDPRESS_CONFIG.php when
# $_SERVER['WORDPRESS_CONFIG'] is set; the router and load.php set it, so any
# Host header (127.0.0.1, localhost, the gateway's) loads this one file.
CONFIG_NAME="wpag-test-$PORT"
CONFIG_FILE="/etc/wordpress/config-$CONFIG_NAME.php"
# Fallback Debian uses when there is no HTTP_HOST (bare CLI scripts).
DEFAULT_CONFIG_FILE=/etc/wordpress/config-default.php
MARKER="Written by wp-auth-gateway scripts/test-wordpress.sh"
PID_FILE="$DIR/php.pid"
LOG_FILE="$DIR/php.log"

die() { echo "test-wordpress: $*" >&2; exit 1; }
say() { echo "test-wordpress: $*"; }

[[ "$PORT" =~ ^[0-9]+$ ]] || die "WP_TEST_PORT must be a number (got '$PORT')."
[[ "$GATEWAY_PORT" =~ ^[0-9]+$ ]] || die "WP_TEST_GATEWAY_PORT must be a number (got '$GATEWAY_PORT')."
[ "$GATEWAY_PORT" != "$PORT" ] || die "WP_TEST_GATEWAY_PORT must differ from WP_TEST_PORT ($PORT)."
[[ "$DB" =~ ^[A-Za-z0-9_]+$ ]] || die "WP_TEST_DB may contain only letters, digits and _ (got '$DB')."
[ "${#SECRET}" -ge 32 ] || die "BRIDGE_SECRET must be at least 32 bytes; set a longer one or unset it for the test default."
case "$SECRET" in *"'"* | *"\\"*) die "BRIDGE_SECRET must not contain ' or \\ (it is written into a PHP string)." ;; esac
case "$DIR" in *"'"* | *"\\"*) die "WP_TEST_DIR must not contain ' or \\." ;; esac

# --- process state ---------------------------------------------------------

server_pid() {
	local pid
	[ -f "$PID_FILE" ] || return 1
	pid="$(cat "$PID_FILE" 2>/dev/null || true)"
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

http_code() {
	curl -s -o /dev/null -m 5 -w '%{http_code}' "$URL/wp-json/" 2>/dev/null || true
}

# Healthy = our server runs and WordPress answers the REST index with 401
# (gateway_assertion_required, as WP_GATEWAY_REQUIRE_ASSERTION is on).
healthy() {
	server_pid >/dev/null && [ "$(http_code)" = 401 ]
}

# --- dependencies ----------------------------------------------------------

ensure_packages() {
	local missing=()
	command -v php >/dev/null 2>&1 || missing+=(php-cli)
	if ! command -v php >/dev/null 2>&1 || ! php -r 'exit(extension_loaded("mysqli") ? 0 : 1);' 2>/dev/null; then
		missing+=(php-mysql)
	fi
	[ -f "$WP_ROOT/wp-load.php" ] || missing+=(wordpress)
	[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	[ "${#missing[@]}" -eq 0 ] && return 0

	[ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; run as root (or: sudo apt-get install -y php-cli php-mysql wordpress mariadb-server redis-server curl)."
	say "installing php-cli php-mysql wordpress mariadb-server redis-server curl (missing: ${missing[*]}) ..."
	apt-get update -qq >/dev/null || die "apt-get update failed; check network access to the Debian mirrors."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq php-cli php-mysql wordpress mariadb-server redis-server curl >/dev/null \
		|| die "apt-get install failed; run 'apt-get install -y php-cli php-mysql wordpress mariadb-server redis-server curl' to see why."
}

ensure_mariadb() {
	mariadb -uroot -e 'select 1' >/dev/null 2>&1 && return 0
	say "starting MariaDB ..."
	install -d -o mysql -g mysql /run/mysqld 2>/dev/null || install -d /run/mysqld
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || true
	local i
	for i in $(seq 1 60); do
		mariadb -uroot -e 'select 1' >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	die "MariaDB does not answer 'mariadb -uroot' after 30 s; see /var/log/mysql/error.log (or start it with 'service mariadb start')."
}

ensure_redis() {
	redis-cli ping >/dev/null 2>&1 && return 0
	say "starting Redis ..."
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null \
		|| die "redis-server did not start; see /var/log/redis/ci.log."
	local i
	for i in $(seq 1 20); do
		redis-cli ping >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	die "Redis does not answer 'redis-cli ping'; see /var/log/redis/ci.log."
}

# --- files -----------------------------------------------------------------

# Refuses to overwrite a file this script did not write.
check_ours() {
	if [ -e "$1" ] && ! grep -qF "$MARKER" "$1"; then
		die "$1 exists and was not written by this script; move it away or choose another WP_TEST_PORT."
	fi
}

write_files() {
	[ -f "$BRIDGE_FILE" ] || die "bridge plugin $BRIDGE_FILE is missing; run from a complete checkout."
	check_ours "$CONFIG_FILE"
	check_ours "$DEFAULT_CONFIG_FILE"
	mkdir -p "$DIR/content/mu-plugins" "$DIR/content/plugins" "$DIR/content/uploads" /etc/wordpress
	ln -sfn "$BRIDGE_FILE" "$DIR/content/mu-plugins/wp-auth-gateway-bridge.php"
	ln -sfn "$WP_ROOT/wp-content/themes" "$DIR/content/themes"

	if [ ! -s "$DIR/salts.php" ]; then
		php -r '
			echo "<?php\n// Random salts for the test WordPress, generated once.\n";
			foreach (["AUTH_KEY","SECURE_AUTH_KEY","LOGGED_IN_KEY","NONCE_KEY","AUTH_SALT","SECURE_AUTH_SALT","LOGGED_IN_SALT","NONCE_SALT"] as $k) {
				echo "define(\x27$k\x27, \x27" . bin2hex(random_bytes(32)) . "\x27);\n";
			}' >"$DIR/salts.php.tmp" && mv "$DIR/salts.php.tmp" "$DIR/salts.php"
	fi

	cat >"$CONFIG_FILE" <<EOF
<?php
// $MARKER
// Test WordPress on $URL (state in $DIR). Regenerated by each 'start'.
define('DB_NAME', '$DB');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
require '$DIR/salts.php';
define('WP_CONTENT_DIR', '$DIR/content');
define('WP_HOME', '$URL');
define('WP_SITEURL', '$URL');
define('BRIDGE_SECRET', '$SECRET');
define('WP_GATEWAY_REQUIRE_ASSERTION', true);
define('WP_DEBUG', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
// Events go to the gateway the tests run here. WP_HTTP_BLOCK_EXTERNAL lets them
// through: WP_Http::block_request() (class-wp-http.php) never blocks the site's
// own host (127.0.0.1, from WP_SITEURL), whatever the port.
define('WP_AUTH_GATEWAY_URL', 'http://127.0.0.1:$GATEWAY_PORT');
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_ALLOW_MULTISITE', false);
\$table_prefix = 'wp_';
EOF
	cat >"$DEFAULT_CONFIG_FILE" <<EOF
<?php
// $MARKER
// Fallback Debian's wp-config.php uses without a host-specific file (e.g. CLI
// scripts without HTTP_HOST): the test WordPress last started.
require '$CONFIG_FILE';
EOF

	cat >"$DIR/load.php" <<EOF
<?php
// $MARKER
// require this file to load the test WordPress from a PHP CLI script.
\$_SERVER['WORDPRESS_CONFIG'] = '$CONFIG_NAME';
\$_SERVER['HTTP_HOST'] = \$_SERVER['HTTP_HOST'] ?? '127.0.0.1:$PORT';
\$_SERVER['SERVER_NAME'] = \$_SERVER['SERVER_NAME'] ?? '127.0.0.1';
\$_SERVER['REQUEST_URI'] = \$_SERVER['REQUEST_URI'] ?? '/';
require_once '$WP_ROOT/wp-load.php';
EOF

	cat >"$DIR/router.php" <<EOF
<?php
// $MARKER
// Router for PHP's built-in server: real files are served as they are,
// everything else goes to WordPress's front controller.
\$_SERVER['WORDPRESS_CONFIG'] = '$CONFIG_NAME';
\$root = '$WP_ROOT';
\$path = rawurldecode((string) parse_url(\$_SERVER['REQUEST_URI'], PHP_URL_PATH));
if (\$path !== '' && strpos(\$path, '..') === false) {
	if (is_file(\$root . \$path)) {
		return false;
	}
	// Uploads live in the test content dir, not under the document root.
	if (strpos(\$path, '/wp-content/') === 0 && substr(\$path, -4) !== '.php'
		&& is_file(\$f = '$DIR/content' . substr(\$path, 11))) {
		header('Content-Type: ' . (mime_content_type(\$f) ?: 'application/octet-stream'));
		readfile(\$f);
		return true;
	}
	// Directories with an index.php (e.g. /wp-admin/).
	if (is_dir(\$root . \$path) && is_file(\$index = rtrim(\$root . \$path, '/') . '/index.php')) {
		\$script = substr(\$index, strlen(\$root));
		\$_SERVER['SCRIPT_NAME'] = \$_SERVER['PHP_SELF'] = \$script;
		\$_SERVER['SCRIPT_FILENAME'] = \$index;
		chdir(dirname(\$index));
		require \$index;
		return true;
	}
}
\$_SERVER['SCRIPT_NAME'] = \$_SERVER['PHP_SELF'] = '/index.php';
\$_SERVER['SCRIPT_FILENAME'] = \$root . '/index.php';
chdir(\$root);
require \$root . '/index.php';
EOF

	cat >"$DIR/install.php" <<'EOF'
<?php
// Installs the test WordPress once and makes sure the test users exist.
// No mail on a test machine (pluggable.php only defines wp_mail if missing).
function wp_mail() { return true; }
define('WP_INSTALLING', true);
require __DIR__ . '/load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (!is_blog_installed()) {
	$r = wp_install('wpag test', 'admin', 'admin@example.test', true, '', 'admin-password-123');
	if (is_wp_error($r)) {
		fwrite(STDERR, "wp_install failed: " . $r->get_error_message() . "\n");
		exit(1);
	}
}
global $wp_rewrite;
if (get_option('permalink_structure') !== '/%postname%/') {
	$wp_rewrite->set_permalink_structure('/%postname%/');
}
flush_rewrite_rules(false);

$users = array('admin' => 'administrator', 'editor' => 'editor', 'author' => 'author',
	'contributor' => 'contributor', 'subscriber' => 'subscriber');
foreach ($users as $login => $role) {
	$password = $login . '-password-123';
	$user = get_user_by('login', $login);
	if (!$user) {
		$id = wp_create_user($login, $password, $login . '@example.test');
		if (is_wp_error($id)) {
			fwrite(STDERR, "cannot create user $login: " . $id->get_error_message() . "\n");
			exit(1);
		}
		$user = get_user_by('id', $id);
	} elseif (!wp_check_password($password, $user->user_pass, $user->ID)) {
		wp_set_password($password, $user->ID);
	}
	if ($user->roles !== array($role)) {
		$user->set_role($role);
	}
}
EOF
}

ensure_database() {
	mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" \
		|| die "cannot create database $DB as MariaDB root; check 'mariadb -uroot'."
	php -d display_errors=stderr "$DIR/install.php" >"$DIR/install.log" 2>&1 \
		|| die "installing WordPress failed: $(tail -n 3 "$DIR/install.log" | tr '\n' ' ')(full log: $DIR/install.log)"
}

start_server() {
	: >"$LOG_FILE"
	# setsid: own process group, so 'stop' ends the server and its workers together.
	PHP_CLI_SERVER_WORKERS=4 setsid nohup php -d display_errors=0 -d log_errors=1 \
		-S "127.0.0.1:$PORT" -t "$WP_ROOT" "$DIR/router.php" >>"$LOG_FILE" 2>&1 </dev/null &
	echo $! >"$PID_FILE"
	local i code
	for i in $(seq 1 60); do
		code="$(http_code)"
		[ "$code" = 401 ] && return 0
		server_pid >/dev/null || break
		sleep 0.5
	done
	echo "test-wordpress: last lines of $LOG_FILE:" >&2
	tail -n 20 "$LOG_FILE" >&2 || true
	stop_server
	die "WordPress did not answer $URL/wp-json/ with 401 (last status '${code:-none}'); see the log above."
}

stop_server() {
	local pid i
	pid="$(server_pid)" || { rm -f "$PID_FILE"; return 0; }
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	rm -f "$PID_FILE"
}

# --- commands --------------------------------------------------------------

cmd_start() {
	if healthy; then
		say "already running on $URL (pid $(server_pid))."
		return 0
	fi
	ensure_packages
	ensure_mariadb
	ensure_redis
	stop_server
	if [ -n "$(http_code | grep -v '^000$' || true)" ]; then
		die "something else answers on 127.0.0.1:$PORT; stop it or set WP_TEST_PORT."
	fi
	mkdir -p "$DIR"
	write_files
	ensure_database
	start_server
	say "WordPress running on $URL (pid $(server_pid), log $LOG_FILE)."
}

cmd_stop() {
	if server_pid >/dev/null; then
		stop_server
		say "stopped."
	else
		rm -f "$PID_FILE"
		say "not running."
	fi
}

cmd_status() {
	local pid
	if pid="$(server_pid)"; then
		if [ "$(http_code)" = 401 ]; then
			say "up on $URL (pid $pid)."
		else
			say "process $pid runs but $URL/wp-json/ does not answer 401; see $LOG_FILE or restart."
			return 1
		fi
	else
		say "down."
		return 3
	fi
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) die "usage: $0 start|stop|status" ;;
esac
