// Where Redis is, as operators write it (README, "Redis"): one URL for a
// standalone server or a Sentinel set-up, or a list of Cluster nodes.
//
//   REDIS_URL=redis://[user:pass@]host:6379[/db]          standalone (rediss:// for TLS)
//   REDIS_URL=redis+sentinel://host1:26379,host2:26379/mymaster[/db]   Sentinel (rediss+sentinel:// for TLS)
//   REDIS_CLUSTER_NODES=host1:6379,host2:6379             Cluster (rediss://host:port entries for TLS)
//
// Passwords may also come from REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD (or
// their _FILE variants), which keeps them out of the URL.

export interface HostPort { host: string, port: number }

interface Auth {
  username?: string | undefined
  password?: string | undefined
  tls: boolean
  /** PEM certificates to trust for TLS besides the system's (REDIS_CA_FILE). */
  ca?: string | undefined
}

export type Topology =
  | { mode: 'standalone', node: HostPort, db: number } & Auth
  | { mode: 'sentinel', sentinels: HostPort[], name: string, db: number, sentinelPassword?: string | undefined } & Auth
  | { mode: 'cluster', nodes: HostPort[] } & Auth

/** A description without secrets, for log lines. */
export function describeTopology (t: Topology): string {
  const scheme = t.tls ? 'rediss' : 'redis'
  switch (t.mode) {
    case 'standalone': return `${scheme}://${t.node.host}:${t.node.port}${t.db === 0 ? '' : `/${t.db}`}`
    case 'sentinel': return `Sentinel ${t.sentinels.map(hp).join(',')} (master "${t.name}"${t.tls ? ', TLS' : ''})`
    case 'cluster': return `Cluster ${t.nodes.map(hp).join(',')}${t.tls ? ' (TLS)' : ''}`
  }
}

const hp = (n: HostPort) => `${n.host}:${n.port}`

export interface TopologyInput {
  url?: string | undefined
  clusterNodes?: string | undefined
  password?: string | undefined
  sentinelPassword?: string | undefined
  ca?: string | undefined
}

/** The topology named by the environment; problems are pushed, one readable line each. */
export function parseTopology (input: TopologyInput, problems: string[]): Topology | undefined {
  const { url, clusterNodes } = input
  if (url !== undefined && clusterNodes !== undefined) {
    problems.push('REDIS_URL and REDIS_CLUSTER_NODES are both set; set REDIS_URL for a standalone server or Sentinel, REDIS_CLUSTER_NODES for a Cluster')
    return undefined
  }
  if (clusterNodes !== undefined) return cluster(clusterNodes, input, problems)
  if (url === undefined) return undefined
  const m = /^(rediss?)(\+sentinel)?:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/([^/?#]*))?(?:\/(\d+))?\/?$/.exec(url)
  if (m === null) {
    problems.push('REDIS_URL: must be redis://host:port, rediss://host:port or redis+sentinel://host:port,host:port/master-name')
    return undefined
  }
  const [, scheme, sentinel, user, pass, hosts, first, second] = m
  const auth = {
    username: user === undefined || user === '' ? undefined : decodeURIComponent(user),
    password: pass !== undefined && pass !== '' ? decodeURIComponent(pass) : input.password,
    tls: scheme === 'rediss',
    ca: input.ca
  }
  if (pass !== undefined && pass !== '' && input.password !== undefined) problems.push('REDIS_URL holds a password and REDIS_PASSWORD is set too; keep one')
  const nodes = hostList(hosts!, sentinel === undefined ? 6379 : 26379, 'REDIS_URL', problems)
  if (nodes === undefined) return undefined
  if (sentinel === undefined) {
    if (nodes.length !== 1) {
      problems.push('REDIS_URL: a standalone URL names one host; for several Sentinels use redis+sentinel://, for a Cluster REDIS_CLUSTER_NODES')
      return undefined
    }
    const db = first === undefined || first === '' ? 0 : Number(first)
    if (!Number.isInteger(db) || second !== undefined) {
      problems.push('REDIS_URL: the path must be a database number (/0)')
      return undefined
    }
    return { mode: 'standalone', node: nodes[0]!, db, ...auth }
  }
  if (first === undefined || first === '') {
    problems.push('REDIS_URL: a Sentinel URL names the master after the hosts: redis+sentinel://host:26379/master-name')
    return undefined
  }
  return { mode: 'sentinel', sentinels: nodes, name: decodeURIComponent(first), db: second === undefined ? 0 : Number(second), sentinelPassword: input.sentinelPassword, ...auth }
}

function cluster (list: string, input: TopologyInput, problems: string[]): Topology | undefined {
  const entries = list.split(',').map((e) => e.trim()).filter((e) => e !== '')
  const tls = entries.map((e) => e.startsWith('rediss://'))
  if (tls.some((x) => x !== tls[0])) {
    problems.push('REDIS_CLUSTER_NODES: use rediss:// for every node or for none')
    return undefined
  }
  const nodes = hostList(entries.map((e) => e.replace(/^rediss?:\/\//, '').replace(/\/$/, '')).join(','), 6379, 'REDIS_CLUSTER_NODES', problems)
  if (nodes === undefined) return undefined
  return { mode: 'cluster', nodes, password: input.password, tls: tls[0] ?? false, ca: input.ca }
}

function hostList (list: string, defaultPort: number, name: string, problems: string[]): HostPort[] | undefined {
  const nodes: HostPort[] = []
  for (const entry of list.split(',')) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(entry.trim())
    const port = m?.[2] === undefined ? defaultPort : Number(m[2])
    if (m === null || port < 1 || port > 65535) {
      problems.push(`${name}: "${entry}" is not host:port`)
      return undefined
    }
    nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port })
  }
  if (nodes.length === 0) {
    problems.push(`${name}: no hosts`)
    return undefined
  }
  return nodes
}
