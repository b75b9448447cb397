import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { OAuthInvalidRequest } from '../errors.js'

// The parameters the OAuth endpoints read, as a form (RFC 6749 §4) or JSON.
// Each must be a single string: a repeated parameter (which the form parser
// turns into an array) is refused (RFC 6749 §3.2). Others are ignored (§3.1).
export const OAuthParams = Type.Object({
  grant_type: Type.Optional(Type.String({ maxLength: 64 })),
  client_id: Type.Optional(Type.String({ maxLength: 64 })),
  client_secret: Type.Optional(Type.String({ maxLength: 256 })),
  username: Type.Optional(Type.String({ maxLength: 256 })),
  password: Type.Optional(Type.String({ maxLength: 4096 })),
  refresh_token: Type.Optional(Type.String({ maxLength: 256 })),
  scope: Type.Optional(Type.String({ maxLength: 1024 })),
  token: Type.Optional(Type.String({ maxLength: 8192 })),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  // Token exchange (RFC 8693 §2.1); provider tokens can be long (Azure AD's with groups).
  subject_token: Type.Optional(Type.String({ maxLength: 16_384 })),
  subject_token_type: Type.Optional(Type.String({ maxLength: 128 })),
  requested_token_type: Type.Optional(Type.String({ maxLength: 128 })),
  actor_token: Type.Optional(Type.String({ maxLength: 16_384 }))
})
export type OAuthParams = Static<typeof OAuthParams>

export function readParams (body: unknown): OAuthParams {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OAuthInvalidRequest('The request body must be a form or a JSON object.')
  if (!Value.Check(OAuthParams, body)) {
    const first = Value.Errors(OAuthParams, body).First()
    throw new OAuthInvalidRequest(`Parameter ${first?.path.slice(1) ?? ''} must be a single string of limited length.`)
  }
  // A parameter sent without a value is treated as omitted (RFC 6749 §3.1).
  const params: Record<string, string> = {}
  for (const key of Object.keys(OAuthParams.properties)) {
    const v = (body as Record<string, unknown>)[key]
    if (typeof v === 'string' && v !== '') params[key] = v
  }
  return params
}
