import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiTokensRepository } from '../editors/api-tokens.repository.js';

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Methods a read-scoped token may use: they change nothing. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Lets through requests that carry, as a Bearer token, the owner's token (ADMIN_API_TOKEN) or a live
 * token made in the editor's desk; a read-scoped one only for requests that change nothing. The
 * owner's token is compared on fixed-length digests, so neither content nor length leaks through
 * timing; desk tokens are found by their SHA-256, which reveals nothing either.
 */
@Injectable()
export class EditorAuthGuard implements CanActivate {
  private readonly ownerDigest: Buffer | undefined;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(ApiTokensRepository) private readonly tokens: ApiTokensRepository,
  ) {
    this.ownerDigest = config.adminApiToken === undefined ? undefined : digest(config.adminApiToken);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    if (header === undefined)
      throw new UnauthorizedException('Missing "Authorization: Bearer <token>" header');
    const match = /^Bearer\s+(\S{1,200})\s*$/i.exec(header);
    const secret = match?.[1];
    if (!secret) throw new UnauthorizedException('The Authorization header must be "Bearer <token>"');
    if (this.ownerDigest !== undefined && timingSafeEqual(digest(secret), this.ownerDigest)) return true;
    const token = await this.tokens.use(secret);
    if (!token) throw new UnauthorizedException('Invalid API token');
    if (token.scope === 'read' && !READ_METHODS.has(request.method)) {
      throw new ForbiddenException('This API token is read-only: it may not change anything');
    }
    return true;
  }
}
