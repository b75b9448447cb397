import { Type } from '@sinclair/typebox'

/** WordPress's REST error shape (src/errors.ts, restErrorBody), for the response schemas of the dashboard's routes. */
export const ErrorResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  data: Type.Object({ status: Type.Integer() })
})
