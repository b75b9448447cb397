import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { DashboardSessions } from '../dashboard/sessions.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The dashboard's cookie sessions; null when the dashboard is off (dashboard.enabled). */
    dashboardSessions: DashboardSessions | null
  }
}

/** The dashboard's sessions, which the admin guard accepts beside tokens (src/admin/guard.ts). */
async function dashboardPlugin (app: FastifyInstance): Promise<void> {
  app.decorateRequest('dashboardSession', null)
  const { enabled, idleSeconds, maxSeconds } = app.config.dashboard
  app.decorate('dashboardSessions', enabled ? new DashboardSessions(app.store, app.revocations, app.bridge, { idleSeconds, maxSeconds, adminTokenHash: app.config.admin.apiTokenHash }) : null)
}

export default fp(dashboardPlugin, { name: 'dashboard', dependencies: ['store', 'bridge', 'tokens'] })
