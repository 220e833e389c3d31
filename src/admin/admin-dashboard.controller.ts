import { Controller, Get, Inject, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminRenderer } from './admin-renderer.js';
import { DeskDashboardService } from './desk-dashboard.service.js';
import { Desk, type DeskContext } from './desk-context.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { DeskSessionGuard } from './desk-session.guard.js';
import { growthChartSvg } from './growth-chart.js';

@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin')
export class AdminDashboardController {
  constructor(
    @Inject(DeskDashboardService) private readonly dashboard: DeskDashboardService,
    @Inject(AdminRenderer) private readonly renderer: AdminRenderer,
  ) {}

  @Get()
  async show(@Desk() desk: DeskContext, @Res() reply: FastifyReply): Promise<void> {
    const t = this.renderer.t;
    const data = await this.dashboard.dashboard();
    const chart = growthChartSvg(data.growth, t.subscribersOverTime, (day) => this.renderer.shortDay(day));
    await this.renderer.send(
      reply,
      'dashboard',
      { title: t.dashboard, section: 'dashboard', desk },
      { ...data, chart, current: data.growth.at(-1)?.total ?? 0 },
    );
  }
}
