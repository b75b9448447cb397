import { readFile, readdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'

// The dashboard's static files, read once at start-up and served from memory:
// public/dashboard/ (beside src/ and dist/ alike), and uPlot's ES module and
// styles from its package, so that no page of the dashboard loads anything
// from elsewhere.

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml'
}

export interface Asset { type: string, body: Buffer }

export async function dashboardAssets (): Promise<Map<string, Asset>> {
  const dir = fileURLToPath(new URL('../../public/dashboard/', import.meta.url))
  const assets = new Map<string, Asset>()
  for (const name of (await readdir(dir)).sort()) {
    const type = TYPES[extname(name)]
    if (type !== undefined && /^[a-z0-9.-]+$/.test(name)) assets.set(name, { type, body: await readFile(dir + name) })
  }
  const require = createRequire(import.meta.url)
  assets.set('uPlot.esm.js', { type: TYPES['.js']!, body: await readFile(require.resolve('uplot/dist/uPlot.esm.js')) })
  assets.set('uPlot.min.css', { type: TYPES['.css']!, body: await readFile(require.resolve('uplot/dist/uPlot.min.css')) })
  return assets
}
