#!/usr/bin/env bash
# Make an RSA key pair for RS256 access tokens (npm run keys).
#
#   scripts/generate-keys.sh [DIR]
#
# Writes DIR/jwt-private.pem (PKCS#8, mode 600) and DIR/jwt-public.pem (SPKI),
# DIR defaulting to ./keys. Existing key files are never overwritten.
# Key size: JWT_KEY_BITS (default 2048; 3072 or 4096 also work).
#
# Uses openssl when present, else node's crypto.

set -euo pipefail

die() { echo "generate-keys: $*" >&2; exit 1; }
say() { echo "generate-keys: $*"; }

case "${1:-}" in
	-h | --help) sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	-*) die "unknown option $1 (see --help)" ;;
esac
[ $# -le 1 ] || die "at most one argument, the folder (see --help)"

dir="${1:-keys}"
bits="${JWT_KEY_BITS:-2048}"
[[ "$bits" =~ ^[0-9]+$ ]] && [ "$bits" -ge 2048 ] && [ "$bits" -le 8192 ] \
	|| die "JWT_KEY_BITS must be a number from 2048 to 8192 (got '$bits')."

# The folder is listable (a container user must be able to reach the files);
# the private key is never readable by others, not even for a moment.
umask 022
mkdir -p "$dir"
umask 077
dir="$(cd "$dir" && pwd)"
private="$dir/jwt-private.pem"
public="$dir/jwt-public.pem"

for f in "$private" "$public"; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		die "$f already exists; not overwriting it. Move the old pair away first (tokens signed with it stop verifying once it is gone)."
	fi
done

# Generate into temporary files, then move both into place: a failure never
# leaves half a pair behind.
tmp_private="$(mktemp "$dir/.jwt-private.XXXXXX")"
tmp_public="$(mktemp "$dir/.jwt-public.XXXXXX")"
trap 'rm -f "$tmp_private" "$tmp_public"' EXIT

if command -v openssl >/dev/null 2>&1; then
	tool=openssl
	# genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"); pkey -pubout writes SPKI.
	openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$tmp_private" 2>/dev/null \
		|| die "openssl genpkey failed."
	openssl pkey -in "$tmp_private" -pubout -out "$tmp_public" 2>/dev/null \
		|| die "openssl pkey -pubout failed."
elif command -v node >/dev/null 2>&1; then
	tool="node crypto"
	node -e '
		const { generateKeyPairSync } = require("node:crypto")
		const { writeFileSync } = require("node:fs")
		const [priv, pub, bits] = process.argv.slice(1)
		const { privateKey, publicKey } = generateKeyPairSync("rsa", {
			modulusLength: Number(bits),
			privateKeyEncoding: { type: "pkcs8", format: "pem" },
			publicKeyEncoding: { type: "spki", format: "pem" }
		})
		writeFileSync(priv, privateKey, { mode: 0o600 })
		writeFileSync(pub, publicKey)
	' "$tmp_private" "$tmp_public" "$bits" || die "node could not generate the key pair."
else
	die "need openssl or node to generate keys."
fi

grep -q -- '-----BEGIN PRIVATE KEY-----' "$tmp_private" || die "the private key is not PKCS#8 PEM."
grep -q -- '-----BEGIN PUBLIC KEY-----' "$tmp_public" || die "the public key is not SPKI PEM."

chmod 600 "$tmp_private"
chmod 644 "$tmp_public"
mv "$tmp_private" "$private"
mv "$tmp_public" "$public"
trap - EXIT

say "wrote an RSA $bits-bit key pair with $tool:"
say "  $private  (private, PKCS#8, mode 600: keep it secret, never commit it)"
say "  $public   (public, SPKI)"
echo
say "Use it for RS256 access tokens: set in the gateway's environment"
say "  JWT_PRIVATE_KEY_FILE=$private"
say "  JWT_PUBLIC_KEY_FILE=$public"
say "and in config/gateway.yaml:"
say "  tokens:"
say "    algorithm: RS256"
echo
say "With docker compose, mount the folder instead (see docker-compose.yml) and use"
say "  JWT_PRIVATE_KEY_FILE=/app/keys/jwt-private.pem"
say "  JWT_PUBLIC_KEY_FILE=/app/keys/jwt-public.pem"
say "The container runs as uid 1000 and must be able to read the private key"
say "  (e.g. chown 1000 $private, or keep mode 600 if your own uid is 1000)."
