import { Inject, Injectable } from '@nestjs/common';
import { ArticlesRepository } from '../articles/articles.repository.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { domainOf, normaliseEmail } from '../lib/email-address.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import type { EditionRow, SubscriberTier } from '../database/schema.js';
import type { DeliveryCounts } from '../delivery/deliveries.repository.js';
import { countsInLedger } from '../edition-lifecycle/edition-states.js';
import { EditionsService } from '../editions/editions.service.js';
import { ExpiringCache } from '../lib/expiring-cache.js';
import { formatPublicationTime } from '../lib/publication-time.js';
import { SubscribersAdminService } from '../subscribers/subscribers-admin.service.js';
import { MessageEventsRepository } from '../delivery/message-events.repository.js';
import { type GrowthPoint, runningTotals } from './growth-chart.js';

const CHART_DAYS = 90;
/**
 * Live counts scan the edition's whole ledger (about 0.1 s at a million recipients): every page
 * polling them in this process shares one count for this long, however many editors watch.
 */
const LIVE_COUNTS_MS = 1500;
const LISTED = 5;
/** The editions whose bounce and complaint rates the dashboard watches. */
const WATCHED = 10;
/** Gmail's published ceiling for the share of messages reported as spam (its bulk-sender rules). */
export const COMPLAINT_RATE_LIMIT = 0.003;
/** The bounce rate past which providers start to distrust a sender, by common consent (none publishes one). */
export const BOUNCE_RATE_LIMIT = 0.02;

export interface EditionHealth {
  readonly edition: EditionRow;
  readonly sent: number;
  /** Hard and soft bounces reported after sending, and refusals during it, over what was attempted. */
  readonly bounceRate: number;
  readonly complaintRate: number;
  readonly overBounceLimit: boolean;
  readonly overComplaintLimit: boolean;
}

export interface EditionWithCounts {
  readonly edition: EditionRow;
  readonly counts: DeliveryCounts;
}

export interface TierTotals {
  readonly tier: SubscriberTier;
  readonly active: number;
  readonly pending: number;
  readonly left: number;
}

/** A step of a new publication's set-up, and whether it is done. */
export interface FirstRunStep {
  readonly step: 'postal-address' | 'sender' | 'dkim' | 'dkim-sender' | 'first-article' | 'first-subscriber';
  readonly done: boolean;
  /** Where on the desk it is done; DKIM is set in the environment (see the README). */
  readonly href?: string;
}

export interface Dashboard {
  /** What a new publication still has to do before its first send; empty once all is done. */
  readonly checklist: readonly FirstRunStep[];
  readonly upcoming: readonly EditionRow[];
  readonly recent: readonly EditionWithCounts[];
  readonly tiers: readonly TierTotals[];
  readonly growth: readonly GrowthPoint[];
  /** The last editions' bounce and complaint rates, newest first. */
  readonly health: readonly EditionHealth[];
}

/** The calendar day of an instant in a time zone, as YYYY-MM-DD. */
function dayIn(timeZone: string, at: Date): string {
  return formatPublicationTime(at, timeZone).slice(0, 10);
}

/** What the dashboard shows: what goes out next, what went out last, and who is on the list. */
@Injectable()
export class DeskDashboardService {
  constructor(
    @Inject(EditionsService) private readonly editions: EditionsService,
    @Inject(SubscribersAdminService) private readonly subscribers: SubscribersAdminService,
    @Inject(MessageEventsRepository) private readonly events: MessageEventsRepository,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(ArticlesRepository) private readonly articles: ArticlesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The first-run checklist: a postal address (the law asks for it in every email), a sender of
   * the publication's own domain (not the default at localhost), DKIM signing, a first article and
   * a first subscriber. Shown until every step is done.
   */
  private async checklist(tiers: readonly TierTotals[]): Promise<FirstRunStep[]> {
    const publication = this.publication.current();
    const sender = publication.mailFrom.address;
    const senderDomain = domainOf(sender);
    const published = await this.articles.listPublished({ limit: 1, offset: 0 });
    const steps: FirstRunStep[] = [
      { step: 'postal-address', done: publication.postalAddress !== '', href: '/admin/settings' },
      {
        step: 'sender',
        done:
          normaliseEmail(sender).ok && senderDomain !== 'localhost' && !senderDomain.endsWith('.localhost'),
        href: '/admin/settings',
      },
      // DKIM is set in the environment; once on, the sender chosen on the desk must be of its domain.
      this.config.dkim === undefined || this.publication.signsForSender(publication)
        ? { step: 'dkim', done: this.config.dkim !== undefined }
        : { step: 'dkim-sender', done: false, href: '/admin/settings' },
      { step: 'first-article', done: published.total > 0, href: '/admin/articles/new' },
      {
        step: 'first-subscriber',
        done: tiers.some((tier) => tier.active > 0),
        href: '/admin/subscribers',
      },
    ];
    return steps.every((step) => step.done) ? [] : steps;
  }

  /** Bounce and complaint rates of these finished editions (the dashboard's last sends). */
  private async health(sends: readonly EditionRow[]): Promise<EditionHealth[]> {
    const watched = sends.filter((edition) => edition.sent + edition.failed > 0);
    const events = await this.events.countsForEditions(watched.map((edition) => edition.id));
    return watched.map((edition) => {
      const of = events.get(edition.id);
      const attempted = edition.sent + edition.failed;
      const bounceRate =
        ((of?.['hard-bounce'] ?? 0) + (of?.['soft-bounce'] ?? 0) + edition.failed) / attempted;
      const complaintRate = (of?.complaint ?? 0) / Math.max(1, edition.sent);
      return {
        edition,
        sent: edition.sent,
        bounceRate,
        complaintRate,
        overBounceLimit: bounceRate > BOUNCE_RATE_LIMIT,
        overComplaintLimit: complaintRate > COMPLAINT_RATE_LIMIT,
      };
    });
  }

  private readonly liveCounts = new ExpiringCache<Promise<DeliveryCounts>>(LIVE_COUNTS_MS, 100);

  private ledgerCounts(editionId: string): Promise<DeliveryCounts> {
    const cached = this.liveCounts.get(editionId);
    if (cached) return cached;
    const counts = this.editions.counts(editionId);
    this.liveCounts.set(editionId, counts);
    counts.catch(() => {
      this.liveCounts.delete(editionId);
    });
    return counts;
  }

  /** How many active subscribers an audience reaches now: what "send now" is about to mail. */
  async audienceSize(audience: EditionRow['audience']): Promise<number> {
    const totals = await this.subscribers.totals();
    return totals
      .filter((row) => row.status === 'active' && (audience === 'all' || row.tier === audience))
      .reduce((sum, row) => sum + row.count, 0);
  }

  /** Counts of a send in progress come from its ledger; a finished one keeps them on its row. */
  async withCounts(edition: EditionRow): Promise<EditionWithCounts> {
    const counts = countsInLedger(edition.status)
      ? await this.ledgerCounts(edition.id)
      : {
          total: edition.total,
          sent: edition.sent,
          failed: edition.failed,
          skipped: edition.skipped,
          pending: Math.max(0, edition.total - edition.sent - edition.failed - edition.skipped),
        };
    return { edition, counts };
  }

  async dashboard(now = new Date()): Promise<Dashboard> {
    const zone = this.publication.current().timeZone;
    const since = new Date(now.getTime() - (CHART_DAYS - 1) * 86_400_000);
    const firstDay = dayIn(zone, since);
    // The query starts a day early, so that whatever the zone's offset it misses nothing of the
    // first day; the days before it that it catches join the count before the window.
    const [upcoming, sends, totals, joins] = await Promise.all([
      this.editions.upcoming(LISTED),
      this.editions.recentSends(WATCHED),
      this.subscribers.totals(),
      this.subscribers.activeByJoinDay(new Date(Date.parse(`${firstDay}T00:00:00Z`) - 86_400_000), zone),
    ]);
    const inWindow = joins.days.filter((d) => d.day >= firstDay);
    const early = joins.days.filter((d) => d.day < firstDay).reduce((sum, d) => sum + d.count, 0);
    const tiers = (['free', 'premium'] as const).map((tier) => {
      const of = (statuses: readonly string[]): number =>
        totals
          .filter((row) => row.tier === tier && statuses.includes(row.status))
          .reduce((s, r) => s + r.count, 0);
      return {
        tier,
        active: of(['active']),
        pending: of(['pending']),
        left: of(['unsubscribed', 'bounced', 'complained']),
      };
    });
    return {
      checklist: await this.checklist(tiers),
      upcoming,
      recent: await Promise.all(sends.slice(0, LISTED).map((edition) => this.withCounts(edition))),
      tiers,
      growth: runningTotals(joins.before + early, inWindow, firstDay, dayIn(zone, now)),
      health: await this.health(sends),
    };
  }
}
