import { FormBodyRefused } from '../../errors.js'
import { readMultipart } from './multipart.js'
import { readUrlencoded, type PhpParam, type ReadLimits } from './php-vars.js'

// PHP's $_POST. WordPress takes `rest_route` from it too (class-wp.php,
// parse_request), and PHP fills it only when the method is exactly POST and
// the media type, the Content-Type up to its first `;`, `,` or space, lower-
// cased, is urlencoded or multipart (main/SAPI.c, sapi_activate and
// sapi_read_post_data). PUT, PATCH and DELETE never fill it.

export type FormKind = 'urlencoded' | 'multipart'

/** Which form PHP parses the body as, or null for none. Content-Types PHP and the gateway might read apart are refused. */
export function formKind (method: string, contentType: string | undefined): FormKind | null {
  if (method !== 'POST' || contentType === undefined) return null
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f\x7f]/.test(contentType)) throw new FormBodyRefused('the Content-Type holds control characters')
  const media = contentType.replace(/^ +/, '').split(/[;, ]/, 1)[0]!.toLowerCase()
  if (media === 'application/x-www-form-urlencoded') return 'urlencoded'
  if (media === 'multipart/form-data') return 'multipart'
  return null
}

export function readPost (kind: FormKind, contentType: string, body: Buffer, wanted: ReadonlySet<string>, limits: ReadLimits): Map<string, PhpParam> {
  return kind === 'urlencoded' ? readUrlencoded(body.toString('latin1'), wanted, limits) : readMultipart(contentType, body, wanted, limits)
}
