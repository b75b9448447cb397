import createError from '@fastify/error'
import { Type, type Static } from '@sinclair/typebox'

// Client errors skip the stack trace: they are answers, not faults, and a
// flood of bad tokens should cost as little as possible to turn away.
const clientError = (code: string, message: string, status: number) => createError(code, message, status, Error, false)

// Every client-facing error is made here, once, with a stable code that
// clients and tests switch on. The body uses WordPress's REST error shape
// (`{code, message, data: {status}}`, see class-wp-rest-server.php
// error_to_response) so existing WordPress clients parse it unchanged.

export const RouteAmbiguous = clientError('GW_ERR_ROUTE_AMBIGUOUS', 'The request could not be classified unambiguously: %s', 400)
export const TooManyParameters = clientError('GW_ERR_TOO_MANY_PARAMETERS', 'The %s holds more than %d parameters, more than PHP reads (max_input_vars).', 400)
export const FormBodyRefused = clientError('GW_ERR_FORM_BODY_REFUSED', 'The form body is not in a form the gateway and PHP read alike: %s.', 400)
export const HeaderRefused = clientError('GW_ERR_HEADER_REFUSED', 'The header %s is not accepted: %s.', 400)
export const MethodUnsupported = clientError('GW_ERR_METHOD_UNSUPPORTED', 'The HTTP method is not supported.', 405)
export const RouteNotFound = clientError('GW_ERR_ROUTE_NOT_FOUND', 'No route was found matching the URL and request method.', 404)
export const RouteDisabled = clientError('GW_ERR_ROUTE_DISABLED', 'This route is disabled.', 403)
export const RoleForbidden = clientError('GW_ERR_ROLE_FORBIDDEN', 'Your role does not allow this route.', 403)
export const InsufficientScope = clientError('GW_ERR_INSUFFICIENT_SCOPE', 'The token lacks a scope this route needs.', 403)
export const JsonpDisabled = clientError('GW_ERR_JSONP_DISABLED', 'JSONP is not served through the gateway.', 400)
export const BatchForbidden = clientError('GW_ERR_BATCH_FORBIDDEN', 'Batch request %s is not allowed: %s', 403)
export const AuthHeaderNotAllowed = clientError('GW_ERR_AUTH_HEADER_NOT_ALLOWED', 'Credentials go in the %s header.', 400)
export const CookieInvalid = clientError('GW_ERR_COOKIE_INVALID', 'The login cookie or nonce is not valid.', 403)

export const AuthHeaderDuplicate = clientError('GW_ERR_AUTH_HEADER_DUPLICATE', 'More than one credential header was sent.', 400)
export const AuthSchemeUnsupported = clientError('GW_ERR_AUTH_SCHEME_UNSUPPORTED', 'The authorization scheme is not supported.', 401)
export const TokenMissing = clientError('GW_ERR_TOKEN_MISSING', 'Authentication is required for this route.', 401)
export const TokenMalformed = clientError('GW_ERR_TOKEN_MALFORMED', 'The access token is malformed.', 401)
export const TokenInvalid = clientError('GW_ERR_TOKEN_INVALID', 'The access token is invalid.', 401)
export const TokenExpired = clientError('GW_ERR_TOKEN_EXPIRED', 'The access token has expired.', 401)
export const TokenRevoked = clientError('GW_ERR_TOKEN_REVOKED', 'The access token has been revoked.', 401)
export const RefreshTokenInvalid = clientError('GW_ERR_REFRESH_TOKEN_INVALID', 'The refresh token is invalid, expired or revoked.', 401)
export const RefreshTokenReused = clientError('GW_ERR_REFRESH_TOKEN_REUSED', 'The refresh token was already used; its session has been ended.', 401)
export const Forbidden = clientError('GW_ERR_FORBIDDEN', 'You are not allowed to do this.', 403)
const TooManyAttemptsError = clientError('GW_ERR_TOO_MANY_ATTEMPTS', 'Too many failed attempts; try again in %d seconds.', 429)
/** 429 with the seconds to wait, which the error handler sends as Retry-After. */
export const TooManyAttempts = function (retryAfterSeconds: number) {
  return Object.assign(new TooManyAttemptsError(retryAfterSeconds), { retryAfter: Math.max(1, retryAfterSeconds) })
} as unknown as new (retryAfterSeconds: number) => Error & { code: string, retryAfter: number }
const RateLimitedError = clientError('GW_ERR_RATE_LIMITED', 'Too many requests to this route; try again in %d seconds.', 429)
/** A rule's rateLimit reached: 429 with Retry-After. */
export const RateLimited = function (retryAfterSeconds: number) {
  return Object.assign(new RateLimitedError(retryAfterSeconds), { retryAfter: Math.max(1, retryAfterSeconds) })
} as unknown as new (retryAfterSeconds: number) => Error & { code: string, retryAfter: number }
export const AuthMethodRefused = clientError('GW_ERR_AUTH_METHOD_REFUSED', 'This route does not accept %s credentials.', 403)
export const EventUnauthenticated = clientError('GW_ERR_EVENT_UNAUTHENTICATED', 'The event is not signed by the bridge, or was already received.', 401)
export const SessionNotFound = clientError('GW_ERR_SESSION_NOT_FOUND', 'No such session.', 404)
export const InvalidCredentials = clientError('GW_ERR_INVALID_CREDENTIALS', 'Invalid username or password.', 401)
export const BasicMalformed = clientError('GW_ERR_BASIC_MALFORMED', 'The Basic credentials are malformed: base64 of login:password is expected.', 401)
export const TlsRequired = clientError('GW_ERR_TLS_REQUIRED', 'Basic credentials are accepted only over HTTPS.', 403)
/** The challenge a 401 carries for credentials sent with Basic (RFC 7617 §2); Bearer otherwise. */
export function withBasicChallenge<E extends Error> (err: E): E & { challenge: string } {
  return Object.assign(err, { challenge: 'Basic realm="wp-auth-gateway", charset="UTF-8"' })
}
export const UserNotProvisioned = clientError('GW_ERR_USER_NOT_PROVISIONED', 'No WordPress user is linked to this identity, and this provider does not create users.', 403)
export const EmailNotVerified = clientError('GW_ERR_EMAIL_NOT_VERIFIED', 'A WordPress user has this email address, but the provider has not verified it: the identity is not linked.', 403)
export const EmailInUse = clientError('GW_ERR_EMAIL_IN_USE', 'A WordPress user already has this email address, and this provider does not link by email.', 403)
export const BadRequest = clientError('GW_ERR_BAD_REQUEST', '%s', 400)
export const BodyTooLarge = clientError('GW_ERR_BODY_TOO_LARGE', 'The request body is too large.', 413)

// API keys (README, "API keys"). Unknown id and wrong secret answer alike: a guess learns nothing.
export const ApiKeyInvalid = clientError('GW_ERR_API_KEY_INVALID', 'The API key is invalid.', 401)
export const ApiKeyExpired = clientError('GW_ERR_API_KEY_EXPIRED', 'The API key has expired.', 401)
export const ApiKeyRevoked = clientError('GW_ERR_API_KEY_REVOKED', 'The API key was revoked by a change to its user; make a new one.', 401)
export const ApiKeyNotFound = clientError('GW_ERR_API_KEY_NOT_FOUND', 'No such API key.', 404)
export const ApiKeyLimitReached = clientError('GW_ERR_API_KEY_LIMIT_REACHED', 'The user already has %d API keys; delete one first.', 409)
export const UserNotFound = clientError('GW_ERR_USER_NOT_FOUND', 'No such user.', 404)

// The dashboard (README, "Dashboard"): its cookie session, and the checks every change made with it must pass.
export const DashboardSessionEnded = clientError('GW_ERR_DASHBOARD_SESSION_ENDED', 'The dashboard session has ended; log in again.', 401)
export const CsrfTokenInvalid = clientError('GW_ERR_CSRF_TOKEN_INVALID', 'A change made with the dashboard session needs its CSRF token in the X-CSRF-Token header.', 403)
export const OriginRefused = clientError('GW_ERR_ORIGIN_REFUSED', 'Requests with the dashboard session are accepted only from the dashboard\'s own origin.', 403)

// OAuth 2.0 clients (README, "OAuth 2.0 clients"). Unknown client and wrong secret answer alike.
export const ClientInvalid = clientError('GW_ERR_CLIENT_INVALID', 'The client id or secret is invalid.', 401)
export const ClientNotFound = clientError('GW_ERR_CLIENT_NOT_FOUND', 'No such client.', 404)
// The OAuth endpoints' own errors (RFC 6749 §5.2, RFC 7009 §2.2.1): the code is the RFC's `error`.
const oauthError = (code: string, status: number) => createError(code, '%s', status, Error, false)
export const OAuthInvalidRequest = oauthError('invalid_request', 400)
export const OAuthInvalidClient = oauthError('invalid_client', 401)
export const OAuthInvalidGrant = oauthError('invalid_grant', 400)
export const OAuthUnauthorizedClient = oauthError('unauthorized_client', 400)
export const OAuthUnsupportedGrantType = oauthError('unsupported_grant_type', 400)
export const OAuthInvalidScope = oauthError('invalid_scope', 400)

// Identity providers (README, "Identity providers"). Bad provider tokens answer GW_ERR_TOKEN_INVALID / GW_ERR_TOKEN_EXPIRED like any token.
export const ProviderUnavailable = createError('GW_ERR_PROVIDER_UNAVAILABLE', 'The identity provider that issued this token cannot be reached to verify it.', 503)

// Accounts (README, "Accounts: registration and password reset"). None tells an existing account from an unknown one,
// except GW_ERR_REGISTRATION_REFUSED for a taken name or address where accounts.register.revealTaken says so (as WordPress's own form does).
export const RegistrationClosed = clientError('GW_ERR_REGISTRATION_CLOSED', 'Registration is closed on this site.', 403)
export const RegistrationRefused = clientError('GW_ERR_REGISTRATION_REFUSED', '%s', 400)
export const PasswordWeak = clientError('GW_ERR_PASSWORD_WEAK', '%s', 400)
export const ResetKeyInvalid = clientError('GW_ERR_RESET_KEY_INVALID', 'The password reset key is invalid or has expired.', 400)
export const CaptchaFailed = clientError('GW_ERR_CAPTCHA_FAILED', 'The CAPTCHA check failed.', 403)
export const CaptchaUnavailable = createError('GW_ERR_CAPTCHA_UNAVAILABLE', 'The CAPTCHA check cannot be made right now.', 503)

export const UpstreamUnavailable = createError('GW_ERR_UPSTREAM_UNAVAILABLE', 'WordPress could not be reached.', 502)
export const BridgeUnavailable = createError('GW_ERR_BRIDGE_UNAVAILABLE', 'WordPress does not accept the gateway right now.', 503)
export const StoreUnavailable = createError('GW_ERR_STORE_UNAVAILABLE', 'The gateway cannot verify requests right now.', 503)
export const Internal = createError('GW_ERR_INTERNAL', 'Internal server error.', 500)

/**
 * The one error body (DESIGN §7), as a shared schema: every gateway route's
 * error responses refer to it by `$id`, and the OpenAPI document shows it once.
 */
export const RestError = Type.Object({
  code: Type.String({ description: 'Stable error code (README, "Errors"); clients switch on it.', examples: ['GW_ERR_TOKEN_EXPIRED'] }),
  message: Type.String({ description: 'For people; may change.' }),
  data: Type.Object({ status: Type.Integer({ description: 'The HTTP status, repeated.' }) }, { additionalProperties: false })
}, { $id: 'RestError', title: 'RestError', description: 'A gateway error, in WordPress\'s REST error shape.', additionalProperties: false })
export type RestErrorBody = Static<typeof RestError>

export function restErrorBody (code: string, message: string, status: number): RestErrorBody {
  return { code, message, data: { status } }
}
