import { Inject, Injectable, Logger } from '@nestjs/common';
import { PublicationSettings } from '../settings/publication-settings.js';
import { ClicksRepository } from './clicks.repository.js';
import { MessageEventsRepository } from './message-events.repository.js';

/** Folding runs at most this often in each worker; each run is one statement per table. */
const EVERY_MS = 3_600_000;

/**
 * Keeps what came back about a reader's messages (bounces, complaints, unsubscribes, clicks) for
 * the retention period the publication sets (EVENT_RETENTION_DAYS by default), then folds it into per-edition and per-link totals and deletes it: reports
 * keep their figures, and nothing older ties a reader to what they did.
 */
@Injectable()
export class FeedbackRetention {
  private readonly logger = new Logger('FeedbackRetention');
  private lastRun = 0;

  constructor(
    @Inject(MessageEventsRepository) private readonly events: MessageEventsRepository,
    @Inject(ClicksRepository) private readonly clicks: ClicksRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
  ) {}

  /** Folds what is past the retention period, unless this process did within the hour. */
  async foldIfDue(now = Date.now()): Promise<void> {
    if (now - this.lastRun < EVERY_MS) return;
    this.lastRun = now;
    await this.fold(new Date(now - this.publication.current().eventRetentionDays * 86_400_000));
  }

  async fold(cutoff: Date): Promise<{ events: number; clicks: number }> {
    const folded = {
      events: await this.events.foldOlderThan(cutoff),
      clicks: await this.clicks.foldOlderThan(cutoff),
    };
    if (folded.events + folded.clicks > 0)
      this.logger.log(
        { ...folded, before: cutoff.toISOString() },
        'Folded feedback past its retention into totals',
      );
    return folded;
  }
}
