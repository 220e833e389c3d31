import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ArticlesService } from '../articles/articles.service.js';
import { EditionDeliveryService } from '../delivery/edition-delivery.service.js';
import { EditionSchedulesService } from '../editions/edition-schedules.service.js';
import { EditionsService } from '../editions/editions.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

const TICK = 'scheduler-tick';

/**
 * The one periodic tick of a worker: it claims due work in the database, so any number of workers
 * may tick at once and each piece of work is done once.
 */
@Injectable()
export class SchedulerTickService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SchedulerTickService.name);
  private running: Promise<void> | undefined;

  constructor(
    @Inject(ArticlesService) private readonly articles: ArticlesService,
    @Inject(EditionsService) private readonly editions: EditionsService,
    @Inject(EditionSchedulesService) private readonly schedules: EditionSchedulesService,
    @Inject(EditionDeliveryService) private readonly delivery: EditionDeliveryService,
    @Inject(SchedulerRegistry) private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.registry.addInterval(
      TICK,
      setInterval(() => void this.tick(), this.config.tickIntervalMs),
    );
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('interval', TICK)) this.registry.deleteInterval(TICK);
    await this.running;
  }

  /** Runs one tick unless the previous one is still at work; never throws. */
  tick(): Promise<void> {
    this.running ??= this.work().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async work(): Promise<void> {
    try {
      const published = await this.articles.publishDue();
      for (const edition of await this.editions.announceNewlyPublished()) {
        this.logger.log({ editionId: edition.id }, 'Article published: its edition is scheduled');
      }
      for (const slot of await this.schedules.runDue()) {
        this.logger.log(
          { scheduleId: slot.schedule.id, editionId: slot.edition?.id, outcome: slot.outcome },
          slot.edition ? 'Recurring slot: edition made' : 'Recurring slot: nothing new, skipped',
        );
      }
      const started = await this.editions.startDue();
      for (const editionId of started) this.logger.log({ editionId }, 'Edition due: sending');
      await this.delivery.reconcile();
      for (const article of published)
        this.logger.log({ articleId: article.id, slug: article.slug }, 'Published scheduled article');
    } catch (error) {
      this.logger.error({ err: error }, 'Scheduler tick failed; the next tick tries again');
    }
  }
}
