#!/usr/bin/env bash
# Write the .env that docker-compose.yml reads, with fresh random secrets.
#
#   scripts/generate-env.sh [--force] [FILE]
#
# FILE defaults to .env at the repository root. An existing file is left alone
# unless --force is given. The file is created with mode 600. The secret values
# are never printed.
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
if [ -e "$file" ] || [ -L "$file" ]; then
	[ "$force" -eq 1 ] || die "$file already exists; not overwriting it (use --force to replace it with new secrets)."
	[ -f "$file" ] || die "$file exists and is not a regular file; not touching it."
	existed=1
fi
dir="$(dirname "$file")"
[ -d "$dir" ] || die "folder $dir does not exist."

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

# Write next to the target with no access for others, then move into place,
# so the secrets are never readable by anyone else, even for a moment.
umask 077
tmp="$(mktemp "$dir/.env.tmp.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

cat >"$tmp" <<EOF
# Written by scripts/generate-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Keep it secret; never commit it.
# Every variable is explained in .env.example.

GATEWAY_PORT=8080

BRIDGE_SECRET=$bridge_secret
JWT_SECRET=$jwt_secret

WORDPRESS_DB_NAME=wordpress
WORDPRESS_DB_USER=wordpress
WORDPRESS_DB_PASSWORD=$db_password
EOF
chmod 600 "$tmp"
mv -f "$tmp" "$file"
trap - EXIT

say "wrote $file (mode 600):"
say "  GATEWAY_PORT=8080"
say "  BRIDGE_SECRET=<64 random characters>"
say "  JWT_SECRET=<64 random characters, different from BRIDGE_SECRET>"
say "  WORDPRESS_DB_NAME=wordpress"
say "  WORDPRESS_DB_USER=wordpress"
say "  WORDPRESS_DB_PASSWORD=<64 random characters>"
if [ "$existed" -eq 1 ]; then
	say "replaced the previous file. Note: tokens signed with the old JWT_SECRET are now invalid, and"
	say "  MariaDB keeps the password it was first created with: if its volume already exists, either"
	say "  remove it (docker compose down -v, which deletes the WordPress data) or change the password"
	say "  inside MariaDB to the new WORDPRESS_DB_PASSWORD."
fi
say "next: docker compose up -d"
