import { Inject, Injectable, Logger } from '@nestjs/common';
import type { MessageEventSource } from '../database/schema.js';
import { isSingleLine } from '../lib/single-line.js';
import { readEditionMessageId } from '../mail/copy-identity.js';
import { SubscribersRepository } from '../subscribers/subscribers.repository.js';
import { FeedbackService } from './feedback.service.js';
import type { RelayEvent } from './relay-events.js';

export interface RelayOutcome {
  readonly applied: number;
  /** Events about addresses that are not (or no longer) subscribers. */
  readonly unknown: number;
}

/**
 * Applies what a relay's signed webhook reports. The relay signed it, so its word for the address
 * is taken; the edition is the one our Message-ID names when the relay quotes it and the ledger
 * sent that copy, else the last one sent to the subscriber.
 */
@Injectable()
export class RelayFeedbackService {
  private readonly logger = new Logger('RelayFeedback');

  constructor(
    @Inject(FeedbackService) private readonly feedback: FeedbackService,
    @Inject(SubscribersRepository) private readonly subscribers: SubscribersRepository,
  ) {}

  async apply(source: MessageEventSource, events: readonly RelayEvent[]): Promise<RelayOutcome> {
    // Only what can be an address is looked up: the relay signed it, but a database refuses a NUL.
    const addresses = events.filter((event) => event.email.length <= 320 && isSingleLine(event.email));
    const ids = await this.subscribers.idsByEmail(addresses.map((event) => event.email));
    let unknown = 0;
    const recorded: Promise<void>[] = [];
    for (const event of events) {
      const subscriberId = ids.get(event.email.toLowerCase());
      if (subscriberId === undefined) {
        unknown += 1;
        continue;
      }
      const copy = event.messageId === undefined ? undefined : readEditionMessageId(event.messageId);
      recorded.push(
        this.feedback.record({
          kind: event.kind,
          source,
          subscriberId,
          editionId: copy?.subscriberId === subscriberId ? copy.editionId : undefined,
          namedBy: 'subscriber',
          detail: event.detail,
          reportKey: event.eventId,
        }),
      );
    }
    await Promise.all(recorded);
    this.logger.log(
      { source, applied: recorded.length, unknown },
      `${source} webhook: ${recorded.length} applied`,
    );
    return { applied: recorded.length, unknown };
  }
}
