import { SUBSCRIBER_SORTS, type SubscriberSort } from '../subscribers.repository.js';
import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import {
  SUBSCRIBER_STATUSES,
  SUBSCRIBER_TIERS,
  type SubscriberStatus,
  type SubscriberTier,
} from '../../database/schema.js';
import { IsSingleLine } from '../../http/validation.js';

/** An address and an optional name, as the subscribe form and the API take them. */
export class SubscriberContactDto {
  @ApiProperty({ example: 'lectrice@exemple.fr', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  email!: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @MaxLength(100)
  name?: string;
}

/** The blog's subscribe form. */
export class SubscribeDto extends SubscriberContactDto {
  /** The honeypot: people never see it, bots fill it. */
  @ApiPropertyOptional({ description: 'Leave empty' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  website?: string;
}

export class CreateSubscriberDto extends SubscriberContactDto {
  @ApiPropertyOptional({ enum: SUBSCRIBER_TIERS, default: 'free' })
  @IsOptional()
  @IsIn(SUBSCRIBER_TIERS)
  tier?: SubscriberTier;

  @ApiPropertyOptional({
    description:
      'true: active at once, consent recorded as given to the editor (source api); false: a confirmation email is sent',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  confirmed?: boolean;
}

/** What editors may change. Only a subscriber can confirm; bounces and complaints come from mail. */
export const EDITOR_STATUSES = ['active', 'unsubscribed'] as const satisfies readonly SubscriberStatus[];

export class UpdateSubscriberDto extends PickType(CreateSubscriberDto, ['name', 'tier'] as const) {
  @ApiPropertyOptional({
    description:
      'With tier premium: the editor gives premium until this time (ISO 8601; without an offset, in the publication time zone; a date alone means through that day); absent: without end. A paid subscription keeps its subscriber premium whatever the editor gives or takes back.',
    example: '2027-06-30',
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  premium_until?: string;

  @ApiPropertyOptional({ enum: EDITOR_STATUSES })
  @IsOptional()
  @IsIn(EDITOR_STATUSES)
  status?: (typeof EDITOR_STATUSES)[number];
}

export class ListSubscribersQuery {
  @ApiPropertyOptional({ enum: SUBSCRIBER_STATUSES })
  @IsOptional()
  @IsIn(SUBSCRIBER_STATUSES)
  status?: SubscriberStatus;

  @ApiPropertyOptional({ enum: SUBSCRIBER_TIERS })
  @IsOptional()
  @IsIn(SUBSCRIBER_TIERS)
  tier?: SubscriberTier;

  @ApiPropertyOptional({ description: 'Part of the email or the name' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  q?: string;

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Matches(/^(?:[1-9]\d{0,1}|[1-4]\d\d|500)$/, { message: 'limit must be a whole number from 1 to 500' })
  limit?: string;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(600)
  cursor?: string;

  @ApiPropertyOptional({
    enum: SUBSCRIBER_SORTS,
    default: 'newest',
    description: 'newest or oldest first, or by email or name (A to Z)',
  })
  @IsOptional()
  @IsIn(SUBSCRIBER_SORTS)
  sort?: SubscriberSort;
}

export class ExportSubscribersQuery extends PickType(ListSubscribersQuery, ['status', 'tier'] as const) {}
