import { ApiProperty, ApiPropertyOptional, OmitType, PartialType, PickType } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsNotBlank, IsSingleLine } from '../../http/validation.js';
import { CreateEditionDto } from './edition-input.dto.js';

/** Preheader and audience as an edition has them; the rest says when and under what subject. */
export class CreateScheduleDto extends PickType(CreateEditionDto, ['preheader', 'audience'] as const) {
  @ApiProperty({ example: 'La lettre du dimanche', maxLength: 100 })
  @IsString()
  @IsNotBlank()
  @IsSingleLine()
  @MaxLength(100)
  name!: string;

  @ApiProperty({
    description: 'Five fields (minute hour day-of-month month day-of-week) or a macro such as @weekly',
    example: '0 18 * * 0',
  })
  @IsString()
  @IsNotBlank()
  @IsSingleLine()
  @MaxLength(100)
  cron!: string;

  @ApiPropertyOptional({
    description: 'IANA time zone; the publication time zone when absent',
    example: 'Europe/Paris',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  time_zone?: string;

  @ApiProperty({
    description: "Each edition's subject; {date} becomes the date of the slot",
    example: 'La lettre du {date}',
    maxLength: 200,
  })
  @IsString()
  @IsNotBlank()
  @IsSingleLine()
  @MaxLength(200)
  subject!: string;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({
    description:
      'The first edition takes the articles published after this time (ISO 8601, not in the future); absent: from now on',
    example: '2026-11-22T18:00',
  })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  articles_since?: string;
}

export class UpdateScheduleDto extends PartialType(
  OmitType(CreateScheduleDto, ['articles_since'] as const),
) {}
