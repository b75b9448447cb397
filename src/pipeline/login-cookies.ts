import { phpVariableName } from './resolve/php-vars.js'

// WordPress logs a caller in from its cookies by itself (determine_current_user,
// wp_validate_logged_in_cookie) and takes a REST nonce from `_wpnonce` as well
// as from X-WP-Nonce (rest_cookie_check_errors). A REST request the gateway
// did not authenticate by cookie must not carry a login WordPress could act
// on: its login cookies are taken out. Cookie names are matched as PHP
// registers them ($_COOKIE: php_default_treat_data, php_register_variable_ex),
// so `wordpress.logged.in_…` counts as `wordpress_logged_in_…`.

/**
 * The Cookie header without the cookies whose PHP name starts with one of
 * the prefixes; undefined when none is left.
 */
export function withoutLoginCookies (header: string, prefixes: readonly string[]): string | undefined {
  const kept = header.split(';').filter((pair) => {
    const eq = pair.indexOf('=')
    const raw = (eq === -1 ? pair : pair.slice(0, eq)).replace(/^[\t\n\v\f\r ]+/, '')
    const name = phpVariableName(raw)?.name ?? ''
    return !prefixes.some((p) => name.startsWith(p))
  })
  const value = kept.join(';').trim()
  return value === '' ? undefined : value
}
