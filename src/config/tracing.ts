/** Where the gateway's traces go (README, "Traces"). */
export interface TracingSettings {
  /** The OTLP/HTTP traces URL, `…/v1/traces`. */
  url: string
  serviceName: string
}

const SERVICE_NAME = 'wp-auth-gateway'

/**
 * Traces are on when a collector is named: by the standard variables
 * (OpenTelemetry's "SDK environment variables" and "OTLP exporter"
 * specifications: the signal's own endpoint is used as it is, the general
 * one gets /v1/traces), or by the file's tracing.endpoint. The standard
 * OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn them off whatever
 * else is set.
 */
export function readTracing (env: NodeJS.ProcessEnv, fileEndpoint: string | undefined, problems: string[]): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined
  const set = (name: string) => env[name] === undefined || env[name].trim() === '' ? undefined : env[name].trim()
  const signal = set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const general = set('OTEL_EXPORTER_OTLP_ENDPOINT')
  const [name, url] = signal !== undefined
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', signal]
    : general !== undefined
      ? ['OTEL_EXPORTER_OTLP_ENDPOINT', `${general.replace(/\/+$/, '')}/v1/traces`]
      : fileEndpoint !== undefined
        ? ['config tracing.endpoint', `${fileEndpoint.replace(/\/+$/, '')}/v1/traces`]
        : [undefined, undefined]
  if (name === undefined || url === undefined) return undefined
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol')
  } catch {
    problems.push(`${name}: "${url}" is not an http(s) URL of an OTLP/HTTP collector`)
    return undefined
  }
  return { url, serviceName: set('OTEL_SERVICE_NAME') ?? SERVICE_NAME }
}
