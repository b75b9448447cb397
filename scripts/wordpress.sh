#!/usr/bin/env bash
# A WordPress of its own, in one folder, for tests and for local trials on a
# machine without Docker (docs/architecture.md, "Running WordPress without Docker").
#
#   scripts/wordpress.sh start DIR     start (installing on first use) the instance in DIR
#   scripts/wordpress.sh stop DIR      stop it; an ephemeral instance is also deleted (DB and DIR)
#   scripts/wordpress.sh status DIR
#   scripts/wordpress.sh env DIR       print its settings as shell `export` lines
#
# Everything an instance has lives in DIR: a hard-linked copy of Debian's
# WordPress with a wp-config.php of its own (nothing is written to /etc), the
# content folder with the bridge linked in, PHP's built-in server, and a
# MariaDB database named after the instance. Two instances never share a
# port, a database or a file, so two checkouts can test at once.
#
# Settings, read from the environment at the first `start` and kept in DIR/instance.env:
#   WP_PORT           port on 127.0.0.1 (default: a free one)
#   WP_UNGUARDED_PORT with a value (0 = a free one): a second server on the same
#                     site whose bridge enforces nothing (tests of the gateway alone)
#   WP_HOME_URL       the site's public address (default: http://127.0.0.1:WP_PORT);
#                     set it to the gateway's address so links and redirects go through it
#   WP_EVENTS_URL     where the bridge sends its events (WP_AUTH_GATEWAY_URL; default: none)
#   WP_DB             database name (default: wpag_<random>)
#   WP_EPHEMERAL      1: `stop` drops the database and deletes DIR (tests)
#   BRIDGE_SECRET     shared with the gateway (default: a fixed test value)
#
# Users (password "<login>-password-123", email "<login>@example.test"), with
# these IDs in a fresh instance: admin (1, administrator), editor (2), author (3),
# contributor (4), subscriber (5), each with the role of its name.
#
# PHP scripts can load the instance's WordPress with `require 'DIR/load.php';`.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WP_DIST=/usr/share/wordpress
BRIDGE_LOADER="$REPO/wordpress/mu-plugins/wp-auth-gateway-bridge.php"
UNGUARDED_PLUGIN="$REPO/test/fixtures/wordpress/unguarded.php"
TEST_PLUGINS="$REPO/test/fixtures/wordpress/mu-plugins"
DEFAULT_SECRET=test-bridge-secret-0123456789abcdef0123456789abcdef

die() { echo "wordpress.sh: $*" >&2; exit 1; }
say() { echo "wordpress.sh: $*" >&2; }

free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# --- dependencies ----------------------------------------------------------

ensure_packages() {
	local missing=()
	command -v php >/dev/null 2>&1 || missing+=(php-cli)
	if ! command -v php >/dev/null 2>&1 || ! php -r 'exit(extension_loaded("mysqli") ? 0 : 1);' 2>/dev/null; then
		missing+=(php-mysql)
	fi
	[ -f "$WP_DIST/wp-settings.php" ] || missing+=(wordpress)
	[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	[ "${#missing[@]}" -eq 0 ] && return 0

	[ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; run as root, or: sudo apt-get install -y php-cli php-mysql wordpress mariadb-server redis-server curl"
	say "installing php-cli php-mysql wordpress mariadb-server redis-server curl (missing: ${missing[*]}) ..."
	apt-get update -qq >/dev/null || die "apt-get update failed; check access to the Debian mirrors."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq php-cli php-mysql wordpress mariadb-server redis-server curl >/dev/null \
		|| die "apt-get install failed; run 'apt-get install -y php-cli php-mysql wordpress mariadb-server redis-server curl' to see why."
}

mariadb_up() { mariadb -uroot -e 'select 1' >/dev/null 2>&1; }

ensure_mariadb() {
	mariadb_up && return 0
	say "starting MariaDB ..."
	install -d -o mysql -g mysql /run/mysqld 2>/dev/null || install -d /run/mysqld
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || true
	local i
	for i in $(seq 1 60); do
		mariadb_up && return 0
		sleep 0.5
	done
	die "MariaDB does not answer 'mariadb -uroot' after 30 s; see /var/log/mysql/error.log."
}

# --- instance settings -----------------------------------------------------

load_settings() {
	[ -f "$DIR/instance.env" ] || return 1
	# shellcheck disable=SC1091
	. "$DIR/instance.env"
}

# Each setting: from the environment when given, else as kept from an earlier
# start, else its default; written back to DIR/instance.env.
settings() {
	local e_port="${WP_PORT:-}" e_unguarded="${WP_UNGUARDED_PORT:-}" e_db="${WP_DB:-}" e_home="${WP_HOME_URL:-}" \
		e_events="${WP_EVENTS_URL:-}" e_ephemeral="${WP_EPHEMERAL:-}" e_secret="${BRIDGE_SECRET:-}"
	WP_PORT='' WP_UNGUARDED_PORT='' WP_DB='' WP_HOME_URL='' WP_EVENTS_URL='' WP_EPHEMERAL='' BRIDGE_SECRET=''
	load_settings || true
	local port="${e_port:-$WP_PORT}" unguarded="${e_unguarded:-$WP_UNGUARDED_PORT}"
	[ -n "$port" ] && [ "$port" != 0 ] || port="$(free_port)"
	[ "$unguarded" = 0 ] && unguarded="$(free_port)"
	local db="${e_db:-${WP_DB:-wpag_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')}}"
	local secret="${e_secret:-${BRIDGE_SECRET:-$DEFAULT_SECRET}}"
	local home="${e_home:-${WP_HOME_URL:-http://127.0.0.1:$port}}"
	local events="${e_events:-$WP_EVENTS_URL}" ephemeral="${e_ephemeral:-${WP_EPHEMERAL:-0}}"
	[[ "$port" =~ ^[0-9]+$ ]] || die "WP_PORT must be a port number (got '$port')."
	[[ -z "$unguarded" || "$unguarded" =~ ^[0-9]+$ ]] || die "WP_UNGUARDED_PORT must be a port number (got '$unguarded')."
	[[ "$db" =~ ^[A-Za-z0-9_]+$ ]] || die "WP_DB may hold only letters, digits and _ (got '$db')."
	[ "${#secret}" -ge 32 ] || die "BRIDGE_SECRET must be at least 32 bytes."
	case "$secret$home$events$DIR" in *"'"* | *"\\"*) die "BRIDGE_SECRET, WP_HOME_URL, WP_EVENTS_URL and DIR must not contain ' or \\." ;; esac
	cat >"$DIR/instance.env" <<EOF
WP_PORT='$port'
WP_UNGUARDED_PORT='$unguarded'
WP_DB='$db'
WP_HOME_URL='$home'
WP_EVENTS_URL='$events'
WP_EPHEMERAL='$ephemeral'
BRIDGE_SECRET='$secret'
EOF
	chmod 600 "$DIR/instance.env"
	load_settings
}

# --- files -----------------------------------------------------------------

write_files() {
	[ -f "$BRIDGE_LOADER" ] || die "$BRIDGE_LOADER is missing; run from a complete checkout."
	# A hard-linked copy costs no space and makes __DIR__ of every WordPress file
	# point here, so WordPress reads this folder's wp-config.php, not Debian's.
	if [ ! -f "$DIR/wordpress/wp-settings.php" ]; then
		rm -rf "$DIR/wordpress"
		cp -al "$WP_DIST" "$DIR/wordpress" 2>/dev/null || cp -a "$WP_DIST" "$DIR/wordpress"
	fi
	rm -f "$DIR/wordpress/wp-config.php" "$DIR/wordpress/.htaccess"
	mkdir -p "$DIR/content/mu-plugins" "$DIR/content/plugins" "$DIR/content/uploads" "$DIR/mu-plugins-unguarded"
	ln -sfn "$WP_DIST/wp-content/themes" "$DIR/content/themes"
	ln -sfn "$BRIDGE_LOADER" "$DIR/content/mu-plugins/wp-auth-gateway-bridge.php"
	if [ "$WP_EPHEMERAL" = 1 ] && [ -d "$TEST_PLUGINS" ]; then
		local f
		for f in "$TEST_PLUGINS"/*.php; do ln -sfn "$f" "$DIR/content/mu-plugins/$(basename "$f")"; done
	fi
	if [ -n "$WP_UNGUARDED_PORT" ]; then
		ln -sfn "$BRIDGE_LOADER" "$DIR/mu-plugins-unguarded/wp-auth-gateway-bridge.php"
		ln -sfn "$UNGUARDED_PLUGIN" "$DIR/mu-plugins-unguarded/zz-unguarded.php"
	fi

	if [ ! -s "$DIR/salts.php" ]; then
		php -r '
			echo "<?php\n// Random salts of this instance, made once.\n";
			foreach (["AUTH_KEY","SECURE_AUTH_KEY","LOGGED_IN_KEY","NONCE_KEY","AUTH_SALT","SECURE_AUTH_SALT","LOGGED_IN_SALT","NONCE_SALT"] as $k) {
				echo "define(\x27$k\x27, \x27" . bin2hex(random_bytes(32)) . "\x27);\n";
			}' >"$DIR/salts.php.tmp" && mv "$DIR/salts.php.tmp" "$DIR/salts.php"
	fi

	local events=""
	[ -n "$WP_EVENTS_URL" ] && events="define('WP_AUTH_GATEWAY_URL', '$WP_EVENTS_URL');"
	cat >"$DIR/wordpress/wp-config.php" <<EOF
<?php
// Written by scripts/wordpress.sh for the instance in $DIR.
define('DB_NAME', '$WP_DB');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
require '$DIR/salts.php';
define('WP_CONTENT_DIR', '$DIR/content');
// The unguarded server (router-unguarded.php) loads the bridge with its enforcement taken off.
if (defined('WPAG_TEST_UNGUARDED')) {
	define('WPMU_PLUGIN_DIR', '$DIR/mu-plugins-unguarded');
}
define('WP_HOME', '$WP_HOME_URL');
define('WP_SITEURL', '$WP_HOME_URL');
define('BRIDGE_SECRET', '$BRIDGE_SECRET');
$events
define('WP_DEBUG', false);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
// Only the site's own host is reachable (WP_Http::block_request(), class-wp-http.php),
// which covers events to a gateway on 127.0.0.1.
define('WP_HTTP_BLOCK_EXTERNAL', true);
\$table_prefix = 'wp_';
if (!defined('ABSPATH')) {
	define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
EOF

	cat >"$DIR/load.php" <<EOF
<?php
// require this file to load the instance's WordPress from a PHP CLI script.
\$_SERVER['HTTP_HOST'] = \$_SERVER['HTTP_HOST'] ?? '127.0.0.1:$WP_PORT';
\$_SERVER['SERVER_NAME'] = \$_SERVER['SERVER_NAME'] ?? '127.0.0.1';
\$_SERVER['REQUEST_URI'] = \$_SERVER['REQUEST_URI'] ?? '/';
require_once '$DIR/wordpress/wp-load.php';
EOF

	write_router "$DIR/router.php" ""
	write_router "$DIR/router-unguarded.php" "define('WPAG_TEST_UNGUARDED', true);"

	cat >"$DIR/install.php" <<'EOF'
<?php
// Installs WordPress once and makes sure the users exist.
function wp_mail() { return true; } // no mail on install (pluggable.php defines it only if missing)
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

# Router for PHP's built-in server: real files as they are, everything else to
# WordPress's front controller (what WordPress's .htaccess does under Apache).
write_router() {
	cat >"$1" <<EOF
<?php
$2
\$root = '$DIR/wordpress';
\$path = rawurldecode((string) parse_url(\$_SERVER['REQUEST_URI'], PHP_URL_PATH));
if (\$path !== '' && strpos(\$path, '..') === false) {
	if (is_file(\$root . \$path)) {
		return false;
	}
	// Uploads live in the content folder, outside the document root.
	if (strpos(\$path, '/wp-content/') === 0 && substr(\$path, -4) !== '.php'
		&& is_file(\$f = '$DIR/content' . substr(\$path, 11))) {
		header('Content-Type: ' . (mime_content_type(\$f) ?: 'application/octet-stream'));
		readfile(\$f);
		return true;
	}
	// Folders with an index.php (/wp-admin/).
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
}

# --- processes -------------------------------------------------------------

pid_alive() {
	local pid
	[ -f "$1" ] || return 1
	pid="$(cat "$1" 2>/dev/null || true)"
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

http_code() {
	curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$1/wp-json/" 2>/dev/null || true
}

# $1 port, $2 router, $3 name (pid and log files)
start_server() {
	local port="$1" router="$2" name="$3" code i
	local pidf="$DIR/$name.pid" log="$DIR/$name.log"
	pid_alive "$pidf" && return 0
	code="$(http_code "$port")"
	[ -z "$code" ] || [ "$code" = 000 ] || die "something else answers on 127.0.0.1:$port; set WP_PORT to another port."
	: >"$log"
	# setsid: a process group of its own, so `stop` ends the server and its workers together.
	PHP_CLI_SERVER_WORKERS=4 setsid nohup php -d display_errors=0 -d log_errors=1 \
		-S "127.0.0.1:$port" -t "$DIR/wordpress" "$router" >>"$log" 2>&1 </dev/null &
	echo $! >"$pidf"
	for i in $(seq 1 60); do
		code="$(http_code "$port")"
		# 401 from the bridge (no assertion) on the guarded server, 200 on the unguarded one.
		if [ "$code" = 401 ] || [ "$code" = 200 ]; then return 0; fi
		pid_alive "$pidf" || break
		sleep 0.25
	done
	say "last lines of $log:"
	tail -n 20 "$log" >&2 || true
	stop_server "$name"
	die "WordPress did not answer http://127.0.0.1:$port/wp-json/ (last status '${code:-none}'); see the log above."
}

stop_server() {
	local pidf="$DIR/$1.pid" pid i
	if pid_alive "$pidf"; then
		pid="$(cat "$pidf")"
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	rm -f "$pidf"
}

# --- commands --------------------------------------------------------------

cmd_start() {
	mkdir -p "$DIR"
	DIR="$(cd "$DIR" && pwd)"
	settings
	ensure_packages
	ensure_mariadb
	write_files
	mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS \`$WP_DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" \
		|| die "cannot create database $WP_DB as MariaDB root; check 'mariadb -uroot'."
	php -d display_errors=stderr "$DIR/install.php" >"$DIR/install.log" 2>&1 \
		|| die "installing WordPress failed: $(tail -n 3 "$DIR/install.log" | tr '\n' ' ')(full log: $DIR/install.log)"
	start_server "$WP_PORT" "$DIR/router.php" php
	[ -z "$WP_UNGUARDED_PORT" ] || start_server "$WP_UNGUARDED_PORT" "$DIR/router-unguarded.php" php-unguarded
	say "WordPress on http://127.0.0.1:$WP_PORT${WP_UNGUARDED_PORT:+ (unguarded: $WP_UNGUARDED_PORT)}, database $WP_DB, in $DIR"
}

cmd_stop() {
	[ -d "$DIR" ] || { say "no instance in $DIR."; return 0; }
	DIR="$(cd "$DIR" && pwd)"
	load_settings || { say "$DIR holds no instance."; return 0; }
	stop_server php
	stop_server php-unguarded
	if [ "$WP_EPHEMERAL" = 1 ]; then
		mariadb -uroot -e "DROP DATABASE IF EXISTS \`$WP_DB\`" 2>/dev/null || say "could not drop database $WP_DB."
		rm -rf "$DIR"
	fi
}

cmd_status() {
	load_settings || { say "no instance in $DIR."; return 3; }
	if pid_alive "$DIR/php.pid"; then
		say "up on http://127.0.0.1:$WP_PORT (database $WP_DB)."
	else
		say "down."
		return 3
	fi
}

cmd_env() {
	DIR="$(cd "$DIR" && pwd)"
	load_settings || die "no instance in $DIR."
	echo "export WP_TEST_DIR='$DIR' WP_TEST_URL='http://127.0.0.1:$WP_PORT' WP_TEST_DB='$WP_DB' BRIDGE_SECRET='$BRIDGE_SECRET'"
	[ -z "$WP_UNGUARDED_PORT" ] || echo "export WP_TEST_UNGUARDED_URL='http://127.0.0.1:$WP_UNGUARDED_PORT'"
	[ -z "$WP_EVENTS_URL" ] || echo "export WP_TEST_EVENTS_URL='$WP_EVENTS_URL'"
}

[ $# -eq 2 ] || die "usage: $0 start|stop|status|env DIR"
DIR="$2"
case "$DIR" in *"'"* | *"\\"*) die "DIR must not contain ' or \\." ;; esac
case "$1" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*) die "usage: $0 start|stop|status|env DIR" ;;
esac
