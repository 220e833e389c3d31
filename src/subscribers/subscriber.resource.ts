import { IMPORT_FORMATS } from './import-formats.js';
import { ApiProperty } from '@nestjs/swagger';
import type { SubscriberRow } from '../database/schema.js';

export class ConsentResource {
  @ApiProperty() given_at!: string;
  @ApiProperty({ nullable: true, type: String }) ip!: string | null;
  @ApiProperty({ nullable: true, type: String }) user_agent!: string | null;
  @ApiProperty({ enum: ['form', 'import', 'api'] }) source!: string;
  @ApiProperty() form_wording!: string;
  @ApiProperty({ nullable: true, type: String }) confirmed_at!: string | null;
}

/** A subscriber as the editor API shows it. */
export class SubscriberResource {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['free', 'premium'] }) tier!: string;
  @ApiProperty({ enum: ['pending', 'active', 'unsubscribed', 'bounced', 'complained'] }) status!: string;
  @ApiProperty() locale!: string;
  @ApiProperty({ type: ConsentResource }) consent!: ConsentResource;
  @ApiProperty({ nullable: true, type: String }) unsubscribed_at!: string | null;
  @ApiProperty() created_at!: string;
  @ApiProperty() updated_at!: string;

  static from(row: SubscriberRow): SubscriberResource {
    return {
      id: row.id,
      email: row.email,
      name: row.name,
      tier: row.tier,
      status: row.status,
      locale: row.locale,
      consent: {
        given_at: row.consentAt.toISOString(),
        ip: row.consentIp,
        user_agent: row.consentUserAgent,
        source: row.consentSource,
        form_wording: row.consentWording,
        confirmed_at: row.confirmedAt?.toISOString() ?? null,
      },
      unsubscribed_at: row.unsubscribedAt?.toISOString() ?? null,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
  }
}

export class SubscriberPageResource {
  @ApiProperty({ type: [SubscriberResource] }) items!: SubscriberResource[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Pass as cursor for the next page; null at the end',
  })
  next_cursor!: string | null;
}

export class ImportReportResource {
  @ApiProperty({ enum: IMPORT_FORMATS, description: 'Whose export the file was, as its header said' })
  format!: string;
  @ApiProperty() imported!: number;
  @ApiProperty() updated!: number;
  @ApiProperty() skipped!: number;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', properties: { line: { type: 'number' }, reason: { type: 'string' } } },
  })
  errors!: { line: number; reason: string }[];
}
