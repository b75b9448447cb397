#!/usr/bin/env bash
# Write what docker-compose.yml reads: .env with the settings, and secrets/
# with fresh random secrets, one file each (Docker secrets: the values never
# sit in an environment variable).
#
#   scripts/generate-env.sh [--force] [FILE]
#
# FILE defaults to .env at the repository root; the secrets go into the
# folder secrets/ beside it (mode 700; the files inside are readable by the
# containers' own users). Existing files are left alone unless --force is
# given. The secret values are never printed.
#
# Random values come from openssl, else node's crypto, else /dev/urandom.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() { echo "generate-env: $*" >&2; exit 1; }
say() { echo "generate-env: $*"; }

usage() {
	sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

force=0
file=""
while [ $# -gt 0 ]; do
	case "$1" in
		--force | -f) force=1 ;;
		--help | -h) usage; exit 0 ;;
		--) shift; [ $# -gt 0 ] && { file="$1"; shift; }; break ;;
		-*) die "unknown option $1 (see --help)" ;;
		*) [ -z "$file" ] || die "only one FILE may be given (see --help)"; file="$1" ;;
	esac
	shift
done
[ $# -eq 0 ] || die "unexpected argument $1 (see --help)"
file="${file:-$REPO/.env}"

existed=0
dir="$(dirname "$file")"
[ -d "$dir" ] || die "folder $dir does not exist."
secrets="$dir/secrets"
for f in "$file" "$secrets/bridge_secret" "$secrets/jwt_secret" "$secrets/db_password"; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		[ "$force" -eq 1 ] || die "$f already exists; not overwriting it (use --force to replace it with new secrets)."
		[ -f "$f" ] || die "$f exists and is not a regular file; not touching it."
		existed=1
	fi
done

# 48 random bytes, base64: 64 characters from [A-Za-z0-9+/], no padding,
# nothing a shell, .env parser, PHP string or SQL password needs escaped.
random_secret() {
	local value=""
	if command -v openssl >/dev/null 2>&1; then
		value="$(openssl rand -base64 48 | tr -d '\n')"
	elif command -v node >/dev/null 2>&1; then
		value="$(node -e "process.stdout.write(require('node:crypto').randomBytes(48).toString('base64'))")"
	elif [ -r /dev/urandom ] && command -v base64 >/dev/null 2>&1; then
		value="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
	fi
	[ "${#value}" -eq 64 ] || die "could not generate a random secret (need openssl, node, or /dev/urandom with base64)."
	printf '%s' "$value"
}

bridge_secret="$(random_secret)"
jwt_secret="$(random_secret)"
db_password="$(random_secret)"
[ "$bridge_secret" != "$jwt_secret" ] || die "BRIDGE_SECRET and JWT_SECRET came out equal; the random source is broken."

# The folder keeps everyone else out; the files in it must be readable by the
# containers' users (node, www-data, mysql), which compose mounts them for as they are.
mkdir -p "$secrets"
chmod 700 "$secrets"
write() {
	local tmp
	tmp="$(mktemp "$(dirname "$1")/.tmp.XXXXXX")"
	printf '%s' "$2" >"$tmp"
	chmod "$3" "$tmp"
	mv -f "$tmp" "$1"
}
write "$secrets/bridge_secret" "$bridge_secret" 644
write "$secrets/jwt_secret" "$jwt_secret" 644
write "$secrets/db_password" "$db_password" 644
write "$file" "# Written by scripts/generate-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Every variable is explained in .env.example;
# the secrets are in secrets/ (never commit either).

GATEWAY_PORT=8080
WORDPRESS_DB_NAME=wordpress
WORDPRESS_DB_USER=wordpress
" 600

say "wrote $file (GATEWAY_PORT=8080, WORDPRESS_DB_NAME=wordpress, WORDPRESS_DB_USER=wordpress)"
say "wrote $secrets/bridge_secret, jwt_secret and db_password (64 random characters each; folder mode 700)"
if [ "$existed" -eq 1 ]; then
	say "replaced the previous files. Note: tokens signed with the old JWT secret are now invalid, and"
	say "  MariaDB keeps the password it was first created with: if its volume already exists, either"
	say "  remove it (docker compose down -v, which deletes the WordPress data) or change the password"
	say "  inside MariaDB to the new one in secrets/db_password."
fi
say "next: docker compose up -d"
