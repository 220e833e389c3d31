import { timingSafeEqual } from 'node:crypto';
import { Controller, Get, Inject, Req, Res, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { MetricsService } from './metrics.service.js';

function isLoopback(ip: string): boolean {
  return ip === '::1' || /^(?:::ffff:)?127\./.test(ip);
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

@ApiTags('ops')
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Prometheus text exposition format. The figures say how the publication runs (subscribers,
   * sends, errors): with METRICS_TOKEN, a scraper sends it as a Bearer token; without, only this
   * machine may read them.
   */
  @Get()
  @ApiBearerAuth()
  async scrape(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const token = this.config.metricsToken;
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const allowed = token === undefined ? isLoopback(request.ip) : sameSecret(token, given);
    if (!allowed) {
      throw new UnauthorizedException(
        token === undefined
          ? 'Metrics are served to this machine only; set METRICS_TOKEN to scrape them from elsewhere'
          : 'Send METRICS_TOKEN as a Bearer token',
      );
    }
    const body = await this.metrics.registry.metrics();
    await reply.header('Cache-Control', 'no-store').type(this.metrics.registry.contentType).send(body);
  }
}
