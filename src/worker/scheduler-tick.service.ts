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
import { FeedbackRetention } from '../delivery/feedback-retention.js';
import { EditionSchedulesService } from '../editions/edition-schedules.service.js';
import { EditionsService } from '../editions/editions.service.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PaymentsService } from '../payments/payments.service.js';
import { beat, heartbeatFile } from './heartbeat.js';

const TICK = 'scheduler-tick';
/** How long before an edition's time its worker gets ready to compose it. */
const READY_AHEAD_MS = 60_000;

/**
 * The one periodic tick of a worker: it claims due work in the database, so any number of workers
 * may tick at once and each piece of work is done once.
 */
@Injectable()
export class SchedulerTickService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SchedulerTickService.name);
  private running: Promise<void> | undefined;
  /** An extra tick at the exact time of an edition due before the next regular one. */
  private wake: { readonly at: number; readonly timer: NodeJS.Timeout } | undefined;
  private readonly heartbeat: string;

  constructor(
    @Inject(ArticlesService) private readonly articles: ArticlesService,
    @Inject(EditionsService) private readonly editions: EditionsService,
    @Inject(EditionSchedulesService) private readonly schedules: EditionSchedulesService,
    @Inject(EditionDeliveryService) private readonly delivery: EditionDeliveryService,
    @Inject(PaymentsService) private readonly payments: PaymentsService,
    @Inject(FeedbackRetention) private readonly retention: FeedbackRetention,
    @Inject(SchedulerRegistry) private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.heartbeat = heartbeatFile(config.dataDir);
  }

  onApplicationBootstrap(): void {
    this.registry.addInterval(
      TICK,
      setInterval(() => void this.tick(), this.config.tickIntervalMs),
    );
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('interval', TICK)) this.registry.deleteInterval(TICK);
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = undefined;
    await this.running;
  }

  /** Runs one tick unless the previous one is still at work; never throws. */
  tick(): Promise<void> {
    this.running ??= this.work().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * An edition due before the next regular tick gets a tick of its own at its time, so it starts
   * on time rather than up to a whole interval late; one due within a minute gets this worker
   * ready to compose it (see EditionDeliveryService.getReady).
   */
  private async wakeForNextDue(): Promise<void> {
    const next = await this.editions.nextDue();
    if (next === undefined) return;
    const due = next.at.getTime();
    const now = Date.now();
    if (due < now + READY_AHEAD_MS) this.delivery.getReady(next.id);
    if (due <= now || due >= now + this.config.tickIntervalMs) return;
    if (this.wake && this.wake.at <= due && this.wake.at > now) return;
    if (this.wake) clearTimeout(this.wake.timer);
    this.wake = {
      at: due,
      timer: setTimeout(() => {
        this.wake = undefined;
        void this.tick();
      }, due - now),
    };
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
      await this.payments.endLapsedPremium();
      await this.retention.foldIfDue();
      await this.wakeForNextDue();
      for (const article of published)
        this.logger.log({ articleId: article.id, slug: article.slug }, 'Published scheduled article');
      // The tick reached the database and Redis: the worker is healthy.
      await beat(this.heartbeat);
    } catch (error) {
      this.logger.error({ err: error }, 'Scheduler tick failed; the next tick tries again');
    }
  }
}
