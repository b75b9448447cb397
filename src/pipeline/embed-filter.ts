import type { Readable } from 'node:stream'
import type { Identity } from './authenticate/identity.js'
import type { Policy } from './policy.js'
import { refusal } from './policy.js'
import { canonicalRoute } from './resolve/route.js'

// `_embed` makes WordPress fetch linked resources itself, past the gateway
// (class-wp-rest-server.php, embed_links): the author, terms, media, and
// whatever links plugins mark embeddable. The bridge holds those fetches to
// the caller's GET rules (`emb`); the gateway holds the answer to them too,
// alone: every embedded resource is identified by its own `self` link, and
// one the caller could not fetch directly, or cannot be identified, is
// replaced by an error before the answer leaves the gateway.

/** The largest answer with embedded resources that is checked; a larger one is refused. */
export const EMBED_LIMIT = 64 * 1024 * 1024
const FORBIDDEN = { code: 'GW_ERR_EMBED_FORBIDDEN', message: 'The gateway does not allow this embedded resource.', data: { status: 403 } }

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The answer with every embedded resource the caller may not read replaced. */
export async function filteredEmbeds (stream: Readable, policy: Policy, identity: Identity | null): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += (chunk as Buffer).length
    if (size > EMBED_LIMIT) throw new Error('an answer with embedded resources is too large to check')
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  let body: Json
  try {
    body = JSON.parse(text) as Json
  } catch {
    return Buffer.concat(chunks) // Not JSON: nothing was embedded.
  }
  const allowed = (route: string) => refusal(policy.decide(route, 'GET'), identity) === null
  // `_envelope` wraps the answer: {body, status, headers}.
  const items = Array.isArray(body) ? body : [body, isObject(body) && 'body' in body ? body.body : null]
  for (const item of items.flatMap((i) => Array.isArray(i) ? i : [i])) filterItem(item, allowed)
  return Buffer.from(JSON.stringify(body))
}

function filterItem (item: Json, allowed: (route: string) => boolean): void {
  if (!isObject(item) || !isObject(item._embedded)) return
  for (const [rel, embeds] of Object.entries(item._embedded)) {
    if (!Array.isArray(embeds)) {
      item._embedded[rel] = FORBIDDEN
      continue
    }
    item._embedded[rel] = embeds.map((embed) => Array.isArray(embed)
      ? embed.map((one) => permitted(one, allowed) ? one : FORBIDDEN)
      : permitted(embed, allowed) ? embed : FORBIDDEN)
  }
}

/** An embedded resource may stay when its own `self` link names a route the caller may GET; WordPress's own errors stay. */
function permitted (resource: Json, allowed: (route: string) => boolean): boolean {
  if (!isObject(resource)) return false
  if (typeof resource.code === 'string' && isObject(resource.data) && !('_links' in resource)) return true
  const links = isObject(resource._links) ? resource._links.self : undefined
  const href = Array.isArray(links) && isObject(links[0]) ? links[0].href : undefined
  if (typeof href !== 'string') return false
  const route = routeOf(href)
  return route !== undefined && allowed(route)
}

/** The REST route a link names: `/wp-json/<route>` or `?rest_route=<route>`. */
function routeOf (href: string): string | undefined {
  try {
    const url = new URL(href)
    const param = url.searchParams.get('rest_route')
    const m = /^\/(?:index\.php\/)?wp-json(\/.*)?$/.exec(url.pathname)
    const raw = param ?? (m === null ? undefined : decodeURIComponent(m[1] ?? '/'))
    return raw === undefined ? undefined : canonicalRoute(raw)
  } catch {
    return undefined
  }
}

const isObject = (v: unknown): v is { [key: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v)
