/** Every route of the hub's API, one module per group; each declares its permission (server.ts enforces it). */
import type { ApiApp, ApiContext } from '../server';
import { adaptationRoutes } from './adaptation';
import { doorRoutes } from './doors';
import { liveRoutes } from './live';
import { operatorRoutes } from './operators';
import { passRoutes } from './passes';
import { personRightsRoutes } from './person-rights';
import { recordRoutes } from './records';
import { registrationRoutes } from './registrations';
import { residentRoutes } from './residents';
import { sessionRoutes } from './session';
import { updateRoutes } from './updates';
import { terminalRoutes } from './terminals';
import { unusedRoutes } from './unused';

export function routes(app: ApiApp, ctx: ApiContext): void {
  sessionRoutes(app, ctx);
  operatorRoutes(app, ctx);
  registrationRoutes(app, ctx);
  unusedRoutes(app, ctx);
  residentRoutes(app, ctx);
  adaptationRoutes(app, ctx);
  personRightsRoutes(app, ctx);
  doorRoutes(app, ctx);
  terminalRoutes(app, ctx);
  passRoutes(app, ctx);
  recordRoutes(app, ctx);
  liveRoutes(app, ctx);
  updateRoutes(app, ctx);
}
