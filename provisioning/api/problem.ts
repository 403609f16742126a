/**
 * Errors as RFC 9457 problem details (`application/problem+json`): `type` (a URI reference naming the
 * error's stable code, /api/problems/<code>), `title`, `status`, `detail`, and `issues` (the zod issue
 * paths and messages) where input was refused. Every typed error of the operations the API calls maps
 * to one status here; anything else is a 500 whose detail says nothing about the inside.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { InvalidInputError, TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';

/** An error the API answers with a given status (declared here: the API throws it). */
export class ApiProblem extends TerminalError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  issues?: Array<{ path: string; message: string }>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 422: 'Unprocessable Content', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail: string, issues?: ReadonlyArray<{ path: string; message: string }>): Problem {
  return { type: `/api/problems/${code}`, title: TITLES[status] ?? 'Error', status, detail, ...(issues ? { issues: [...issues] } : {}) };
}

/** Status of the project's typed errors, by their stable code. */
const STATUS_BY_CODE: Record<string, number> = {
  'invalid-input': 400,
  'operator-input': 422,
  'operator-exists': 409,
  'operator-unknown': 404,
  'operator-password': 422,
  'login-failed': 401,
  'login-locked': 429,
  'token-unknown': 404,
  'root-token': 401,
  'person-admin': 422,
  'pass-admin': 422,
  'credential-admin': 422,
  'not-found': 404,
  conflict: 409,
  'passphrase-required': 503,
  'enroller-required': 503,
  'enrolment-photo': 422,
  'enrolment-mismatch': 422,
  fleet: 404,
  'rollout-refused': 409,
};

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type('application/problem+json').send(JSON.stringify(p));
}

export function errorHandler(log: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => {
        const issue = v.params.issue as { path?: PropertyKey[] } | undefined;
        return { path: [err.validationContext ?? 'input', ...(issue?.path ?? []).map(String)].join('.'), message: v.message ?? 'invalid' };
      });
      return sendProblem(reply, problem(400, 'invalid-input', `the ${err.validationContext ?? 'request'} is invalid`, issues));
    }
    if (err instanceof ApiProblem) {
      if (err.code === 'login-locked') void reply.header('retry-after', '60');
      return sendProblem(reply, problem(err.status, err.code, err.message, err.issues));
    }
    if (err instanceof InvalidInputError) return sendProblem(reply, problem(400, err.code, err.message, err.issues.map((m) => ({ path: err.what, message: m }))));
    if (err instanceof TerminalError) {
      const status = STATUS_BY_CODE[err.code] ?? 422;
      if (err.code === 'login-locked') void reply.header('retry-after', String(Math.ceil(((err as TerminalError & { retryAfterMs?: number }).retryAfterMs ?? 60_000) / 1000)));
      return sendProblem(reply, problem(status, err.code, err.message));
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendProblem(reply, problem(err.statusCode, (err.code || 'bad-request').toLowerCase(), err.message));
    }
    log.error({ err: { name: err.name, code: err.code }, method: req.method, route: req.routeOptions.url }, 'request failed');
    return sendProblem(reply, problem(500, 'internal', 'the hub could not complete the request'));
  };
}
