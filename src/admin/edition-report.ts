import { Inject, Injectable } from '@nestjs/common';
import { stringify } from 'csv-stringify/sync';
import type { EditionRow, MessageEventKind } from '../database/schema.js';
import { ClicksRepository } from '../delivery/clicks.repository.js';
import { MessageEventsRepository } from '../delivery/message-events.repository.js';
import { RECIPIENT_MARKERS } from '../mail/prepared-message.js';
import { spreadsheetSafe } from '../subscribers/spreadsheet-safe.js';
import { DeskDashboardService } from './desk-dashboard.service.js';
import { type PairedBars, pairedBarsSvg } from './growth-chart.js';
import { fill } from '../i18n/admin-messages.js';

/** The timeline covers the first two days of an edition, by the hour: when readers react. */
const TIMELINE_HOURS = 48;

export interface LinkReport {
  readonly url: string;
  /** Readers who clicked it (unique clicks). */
  readonly readers: number;
  readonly clicks: number;
  /** Follows by security scanners, counted apart. */
  readonly scans: number;
}

export interface EditionReport {
  readonly sent: number;
  /** Sent and not reported back as bounced. */
  readonly delivered: number;
  /** Refused for good during the send (the ledger's failures). */
  readonly failed: number;
  readonly events: Record<MessageEventKind, number>;
  /** Readers who clicked at least one link. */
  readonly readers: number;
  readonly clicks: number;
  readonly scans: number;
  readonly links: readonly LinkReport[];
  /** What the open pixel counted, when it was on (unreliable: see tracked-links.ts). */
  readonly opens: { readonly readers: number; readonly opens: number; readonly scans: number };
  /** Readers' first clicks and departures (unsubscribes, complaints) by hour since the start. */
  readonly timeline: readonly PairedBars[];
}

/** What became of an edition once sent: the ledger's counts, what came back, and the clicks. */
@Injectable()
export class EditionReports {
  constructor(
    @Inject(DeskDashboardService) private readonly dashboard: DeskDashboardService,
    @Inject(MessageEventsRepository) private readonly events: MessageEventsRepository,
    @Inject(ClicksRepository) private readonly clicks: ClicksRepository,
  ) {}

  /** Undefined for an edition that has not started. */
  async reportOf(edition: EditionRow): Promise<EditionReport | undefined> {
    const start = edition.startedAt;
    if (!start) return undefined;
    const [{ counts }, eventsByEdition, links, readerHours, eventHours, foldedReaders, opens] =
      await Promise.all([
        this.dashboard.withCounts(edition),
        this.events.countsForEditions([edition.id]),
        this.clicks.linkStats(edition.id),
        this.clicks.readersByHour(edition.id, start),
        this.events.hourlyForEdition(edition.id, start),
        this.clicks.foldedReaders(edition.id),
        this.clicks.openStats(edition.id),
      ]);
    const events = eventsByEdition.get(edition.id) ?? {
      'hard-bounce': 0,
      'soft-bounce': 0,
      complaint: 0,
      unsubscribe: 0,
    };
    // The whole window, hours to come included: the bars keep their size as the edition ages.
    const timeline = Array.from({ length: TIMELINE_HOURS }, (_, hour) => ({
      key: String(hour),
      first: readerHours.find((row) => row.hour === hour)?.n ?? 0,
      second: eventHours
        .filter((row) => row.hour === hour && (row.kind === 'unsubscribe' || row.kind === 'complaint'))
        .reduce((sum, row) => sum + row.n, 0),
    }));
    const readers = foldedReaders + readerHours.reduce((sum, row) => sum + row.n, 0);
    return {
      sent: counts.sent,
      delivered: Math.max(0, counts.sent - events['hard-bounce'] - events['soft-bounce']),
      failed: counts.failed,
      events,
      readers,
      clicks: links.reduce((sum, link) => sum + link.clicks, 0),
      scans: links.reduce((sum, link) => sum + link.scans, 0),
      // An article link is shown as readers see it, without the marker its reader query fills.
      links: links.map((link) => ({ ...link, url: link.url.replace(RECIPIENT_MARKERS.readerQuery, '') })),
      opens,
      timeline,
    };
  }

  timelineSvg(
    report: EditionReport,
    labels: { chart: string; first: string; second: string; hour: string },
  ): string {
    return pairedBarsSvg(report.timeline, labels, (key) => fill(labels.hour, { n: key }));
  }

  /** The report as CSV: one row per figure, then one per link. */
  csv(report: EditionReport): string {
    const figures: [string, number][] = [
      ['sent', report.sent],
      ['delivered', report.delivered],
      ['failed', report.failed],
      ['hard_bounces', report.events['hard-bounce']],
      ['soft_bounces', report.events['soft-bounce']],
      ['complaints', report.events.complaint],
      ['unsubscribes', report.events.unsubscribe],
      ['readers_who_clicked', report.readers],
      ['clicks', report.clicks],
      ['scanner_clicks', report.scans],
      ['readers_who_opened_unreliable', report.opens.readers],
      ['opens_unreliable', report.opens.opens],
    ];
    return stringify([
      ['row', 'name', 'count', 'readers', 'scanner_clicks'],
      ...figures.map(([name, count]) => ['figure', name, count, '', '']),
      ...report.links.map((link) => [
        'link',
        spreadsheetSafe(link.url),
        link.clicks,
        link.readers,
        link.scans,
      ]),
    ]);
  }
}
