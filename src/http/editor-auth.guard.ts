import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Lets through requests that carry the owner's token (ADMIN_API_TOKEN) as a Bearer token.
 * Comparison is on fixed-length digests so that neither content nor length leaks through timing.
 */
@Injectable()
export class EditorAuthGuard implements CanActivate {
  private readonly ownerDigest: Buffer | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.ownerDigest = config.adminApiToken === undefined ? undefined : digest(config.adminApiToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    if (header === undefined)
      throw new UnauthorizedException('Missing "Authorization: Bearer <token>" header');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new UnauthorizedException('The Authorization header must be "Bearer <token>"');
    if (this.ownerDigest === undefined || !timingSafeEqual(digest(match[1]), this.ownerDigest)) {
      throw new UnauthorizedException('Invalid API token');
    }
    return true;
  }
}
