import { Controller, Get, Header, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Redis } from 'ioredis';
import { DatabaseClient } from '../database/database-client.js';

const CHECK_TIMEOUT_MS = 2000;

@ApiTags('ops')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(DatabaseClient) private readonly database: DatabaseClient,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  /**
   * 200 when the database and Redis both answer, 503 otherwise, with each one's state in terminus's
   * own format (which load balancers and uptime checkers know), not the API error body.
   */
  @Get()
  @HealthCheck()
  @Header('Cache-Control', 'no-store')
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.runChecks();
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  private runChecks(): Promise<HealthCheckResult> {
    return this.health.check([
      () =>
        this.indicators
          .check('database')
          .attempt(async () => {
            await this.database.ping();
            return { engine: this.database.engine };
          })
          .withTimeout(CHECK_TIMEOUT_MS),
      () =>
        this.indicators
          .check('redis')
          .attempt(async () => {
            await this.redis.ping();
          })
          .withTimeout(CHECK_TIMEOUT_MS),
    ]);
  }
}
