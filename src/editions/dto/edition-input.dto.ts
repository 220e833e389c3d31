import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';
import {
  EDITION_AUDIENCES,
  type EditionAudience,
  SUBSCRIBER_TIERS,
  type SubscriberTier,
} from '../../database/schema.js';
import { IsNotBlank, IsSingleLine } from '../../http/validation.js';

/** Articles one edition may carry: beyond this an email grows past what inboxes show. */
export const MAX_EDITION_ARTICLES = 20;

export class CreateEditionDto {
  @ApiProperty({ example: 'La lettre du dimanche : Syrie, Irak', maxLength: 200 })
  @IsString()
  @IsNotBlank()
  @IsSingleLine()
  @MaxLength(200)
  subject!: string;

  @ApiPropertyOptional({ description: 'Inbox preview text; the first lede when empty', maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @MaxLength(200)
  preheader?: string;

  @ApiPropertyOptional({ enum: EDITION_AUDIENCES, default: 'all' })
  @IsOptional()
  @IsIn(EDITION_AUDIENCES)
  audience?: EditionAudience;

  @ApiProperty({ type: [String], description: 'Published articles, in the order they appear' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EDITION_ARTICLES)
  @ArrayUnique()
  @IsUUID('4', { each: true })
  article_ids!: string[];
}

export class UpdateEditionDto extends PartialType(CreateEditionDto) {}

export class ScheduleEditionDto {
  @ApiPropertyOptional({
    description: 'ISO 8601; without an offset it is read in the publication time zone; absent: now',
    example: '2026-12-06T18:00',
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  send_at?: string;
}

export class TestEditionDto {
  @ApiProperty({ example: 'redaction@exemple.fr' })
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiPropertyOptional({ enum: SUBSCRIBER_TIERS, default: 'premium' })
  @IsOptional()
  @IsIn(SUBSCRIBER_TIERS)
  tier?: SubscriberTier;
}

export class PreviewQuery {
  @ApiPropertyOptional({ enum: SUBSCRIBER_TIERS, default: 'free' })
  @IsOptional()
  @IsIn(SUBSCRIBER_TIERS)
  tier?: SubscriberTier;
}
