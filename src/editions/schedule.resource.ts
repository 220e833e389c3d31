import { ApiProperty } from '@nestjs/swagger';
import type { EditionScheduleRow } from '../database/schema.js';
import { nextSlots } from '../lib/recurrence.js';

export class ScheduleResource {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ example: '0 18 * * 0' }) cron!: string;
  @ApiProperty({ example: 'Europe/Paris' }) time_zone!: string;
  @ApiProperty() subject!: string;
  @ApiProperty() preheader!: string;
  @ApiProperty({ enum: ['all', 'free', 'premium'] }) audience!: string;
  @ApiProperty() active!: boolean;
  @ApiProperty({ description: 'The next slot' }) next_run_at!: string;
  @ApiProperty({ type: [String], description: 'The next three slots, to check the expression' })
  upcoming!: string[];
  @ApiProperty({ description: 'The next edition takes the articles published after this time' })
  articles_since!: string;
  @ApiProperty({ nullable: true, type: String }) last_run_at!: string | null;
  @ApiProperty({ nullable: true, enum: ['created', 'skipped'], type: String })
  last_outcome!: string | null;
  @ApiProperty() created_at!: string;

  static from(row: EditionScheduleRow): ScheduleResource {
    const after = new Date(row.nextRunAt.getTime() - 1);
    return {
      id: row.id,
      name: row.name,
      cron: row.cron,
      time_zone: row.timeZone,
      subject: row.subject,
      preheader: row.preheader,
      audience: row.audience,
      active: row.active,
      next_run_at: row.nextRunAt.toISOString(),
      upcoming: nextSlots(row, after, 3).map((slot) => slot.toISOString()),
      articles_since: row.coveredUntil.toISOString(),
      last_run_at: row.lastRunAt?.toISOString() ?? null,
      last_outcome: row.lastOutcome,
      created_at: row.createdAt.toISOString(),
    };
  }
}
