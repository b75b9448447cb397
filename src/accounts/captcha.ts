import type { FastifyRequest } from 'fastify'
import { CaptchaFailed, CaptchaUnavailable } from '../errors.js'

export interface CaptchaSettings { webhook?: string | undefined, header: string, timeoutMs: number }

/**
 * The hook point for a CAPTCHA (README, "Accounts"): the gateway itself
 * checks none, but when `accounts.captcha.webhook` is set, the value of the
 * configured header is POSTed there as JSON `{token, action, ip}` and the
 * request goes on only on a 2xx answer `{"success": true}` (the shape
 * reCAPTCHA, hCaptcha and Turnstile verify endpoints answer, behind a small
 * service of the operator's that holds the provider's secret). A missing
 * token or a refusal is 403; a webhook that cannot answer is 503 (closed).
 */
export class Captcha {
  readonly #settings: CaptchaSettings

  constructor (settings: CaptchaSettings) {
    this.#settings = settings
  }

  get enabled (): boolean { return this.#settings.webhook !== undefined }

  async verify (request: FastifyRequest, action: string): Promise<void> {
    const { webhook, header, timeoutMs } = this.#settings
    if (webhook === undefined) return
    const token = request.headers[header.toLowerCase()]
    if (typeof token !== 'string' || token === '' || token.length > 4096) throw new CaptchaFailed()
    let res: Response
    let body: unknown
    try {
      res = await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, action, ip: request.ip }),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs)
      })
      body = await res.json().catch(() => null)
    } catch (err) {
      throw new CaptchaUnavailable({ cause: err })
    }
    if (res.status >= 500) throw new CaptchaUnavailable({ cause: new Error(`the CAPTCHA webhook answered ${res.status}`) })
    const success = typeof body === 'object' && body !== null && (body as { success?: unknown }).success === true
    if (res.status < 200 || res.status > 299 || !success) throw new CaptchaFailed()
  }
}
