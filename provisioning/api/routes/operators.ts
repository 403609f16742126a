/** Operators: add (prints a one-time password), list, disable, reset password, their tokens. */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { OperatorSchema, NewOperatorSchema } from '../../operators/accounts';
import { ApiProblem } from '../problem';
import type { ApiApp, ApiContext } from '../server';
import { fail, TokenLabelSchema, TokenView } from './session';

const Params = z.strictObject({ id: IdSchema });

export function operatorRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/api/operators', { config: { permission: 'operators.read' }, schema: { summary: 'Every operator', response: { 200: z.strictObject({ items: z.array(OperatorSchema) }) } } },
    () => ({ items: ctx.auth.accounts.list() }));

  app.post('/api/operators', {
    config: { permission: 'operators.write' },
    schema: { summary: 'A new operator with a one-time password (shown once)', body: NewOperatorSchema, response: { 201: z.strictObject({ operator: OperatorSchema, password: z.string() }) } },
  }, async (req, reply) => reply.code(201).send(await ctx.auth.accounts.add(req.body, { id: (req.principal ?? fail()).id })));

  app.get('/api/operators/:id', { config: { permission: 'operators.read' }, schema: { params: Params, response: { 200: OperatorSchema } } },
    (req) => ctx.auth.accounts.must(req.params.id));

  app.post('/api/operators/:id/disable', { config: { permission: 'operators.write' }, schema: { summary: 'Disable: no login, sessions and tokens end', params: Params, response: { 200: OperatorSchema } } },
    (req) => ctx.auth.accounts.disable(req.params.id, { id: (req.principal ?? fail()).id }));

  app.post('/api/operators/:id/password-reset', {
    config: { permission: 'operators.write' },
    schema: { summary: 'A new one-time password (sessions and tokens end)', params: Params, response: { 200: z.strictObject({ operator: OperatorSchema, password: z.string() }) } },
  }, (req) => ctx.auth.accounts.resetPassword(req.params.id, { id: (req.principal ?? fail()).id }));

  app.get('/api/operators/:id/tokens', { config: { permission: 'operators.read' }, schema: { params: Params, response: { 200: z.strictObject({ items: z.array(TokenView) }) } } },
    (req) => ({ items: ctx.auth.tokens(ctx.auth.accounts.must(req.params.id).id) }));

  app.post('/api/operators/:id/tokens', {
    config: { permission: 'operators.write' },
    schema: { summary: 'A token for a script acting as this operator (shown once)', params: Params, body: TokenLabelSchema, response: { 201: z.strictObject({ token: z.string(), info: TokenView }) } },
  }, (req, reply) => {
    void reply.code(201);
    return ctx.auth.createToken(req.params.id, req.body.label, (req.principal ?? fail()).id);
  });

  app.delete('/api/operators/:id/tokens/:tokenId', {
    config: { permission: 'operators.write' },
    schema: { params: z.strictObject({ id: IdSchema, tokenId: z.string().regex(/^tok-[0-9a-f]{12}$/) }), response: { 200: TokenView } },
  }, (req) => {
    const t = ctx.auth.token(req.params.tokenId);
    if (!t || t.operatorId !== req.params.id) throw new ApiProblem(404, 'token-unknown', `no token ${req.params.tokenId} of ${req.params.id}`);
    return ctx.auth.revokeToken(t.id, (req.principal ?? fail()).id);
  });
}
