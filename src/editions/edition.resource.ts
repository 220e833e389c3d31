import { ApiProperty } from '@nestjs/swagger';
import type { EditionRow } from '../database/schema.js';
import type { DeliveryCounts } from '../delivery/deliveries.repository.js';

export class EditionCountsResource {
  @ApiProperty() total!: number;
  @ApiProperty() pending!: number;
  @ApiProperty() sent!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() skipped!: number;
}

export class EditionResource {
  @ApiProperty() id!: string;
  @ApiProperty() subject!: string;
  @ApiProperty() preheader!: string;
  @ApiProperty({ enum: ['all', 'free', 'premium'] }) audience!: string;
  @ApiProperty({ type: [String] }) article_ids!: string[];
  @ApiProperty({ enum: ['draft', 'scheduled', 'sending', 'sent', 'failed', 'cancelled'] }) status!: string;
  @ApiProperty({ nullable: true, type: String }) scheduled_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) started_at!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'When the audience was frozen and queued' })
  prepared_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) finished_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) failure_reason!: string | null;
  @ApiProperty({ type: EditionCountsResource, description: 'Live from the ledger while sending' })
  counts!: EditionCountsResource;
  @ApiProperty({ nullable: true, type: String, description: 'The recurring schedule that made it' })
  schedule_id!: string | null;
  @ApiProperty() created_at!: string;

  static from(row: EditionRow, live?: DeliveryCounts): EditionResource {
    return {
      id: row.id,
      subject: row.subject,
      preheader: row.preheader,
      audience: row.audience,
      article_ids: row.articleIds,
      status: row.status,
      scheduled_at: row.scheduledAt?.toISOString() ?? null,
      started_at: row.startedAt?.toISOString() ?? null,
      prepared_at: row.preparedAt?.toISOString() ?? null,
      finished_at: row.finishedAt?.toISOString() ?? null,
      failure_reason: row.failureReason,
      counts: live
        ? {
            total: live.total,
            pending: live.pending,
            sent: live.sent,
            failed: live.failed,
            skipped: live.skipped,
          }
        : { total: row.total, pending: 0, sent: row.sent, failed: row.failed, skipped: row.skipped },
      schedule_id: row.scheduleId,
      created_at: row.createdAt.toISOString(),
    };
  }
}
