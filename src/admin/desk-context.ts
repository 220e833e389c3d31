import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { EditorRow } from '../database/schema.js';
import type { AdminSession } from './session-store.js';

/** The signed-in editor of a desk request, set by DeskSessionGuard. */
export interface DeskContext {
  readonly sessionId: string;
  readonly session: AdminSession;
  readonly editor: EditorRow;
}

const DESK = Symbol('desk');
type WithDesk = FastifyRequest & { [DESK]?: DeskContext };

export function attachDesk(request: FastifyRequest, desk: DeskContext): void {
  (request as WithDesk)[DESK] = desk;
}

export function deskOf(request: FastifyRequest): DeskContext | undefined {
  return (request as WithDesk)[DESK];
}

/** The DeskContext of a route behind DeskSessionGuard. */
export const Desk = createParamDecorator((_data: unknown, context: ExecutionContext): DeskContext => {
  const desk = deskOf(context.switchToHttp().getRequest<FastifyRequest>());
  if (!desk) throw new Error('@Desk() used on a route without DeskSessionGuard');
  return desk;
});
