import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { ARTICLE_ACCESS, type ArticleAccess } from '../../database/schema.js';
import { IsNotBlank, IsSingleLine } from '../../http/validation.js';
import { SLUG_MAX_LENGTH, SLUG_PATTERN } from '../../lib/slug.js';

export const BODY_MAX_CHARS = 500_000;

export class CreateArticleDto {
  @ApiProperty({ example: "Syrie\u00a0: Daech s'empare d'Al-Qaryatayn", maxLength: 300 })
  @IsString()
  @IsNotBlank()
  @IsSingleLine()
  @MaxLength(300)
  title!: string;

  @ApiPropertyOptional({ description: 'Derived from the title when absent', pattern: SLUG_PATTERN.source })
  @IsOptional()
  @IsString()
  @MaxLength(SLUG_MAX_LENGTH)
  @Matches(SLUG_PATTERN, {
    message: 'slug must be lower-case letters and digits separated by single hyphens',
  })
  slug?: string;

  @ApiPropertyOptional({
    description: 'Chapô: plain text shown before the body, always public',
    maxLength: 2000,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  lede?: string;

  @ApiProperty({
    description: 'Markdown; `<!--more-->` marks where the public teaser ends',
    maxLength: BODY_MAX_CHARS,
  })
  @IsString()
  @MaxLength(BODY_MAX_CHARS)
  body_md!: string;

  @ApiPropertyOptional({ type: [String], example: ['Syrie', 'Qaryatayn'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(30)
  @IsString({ each: true })
  @IsNotBlank({ each: true })
  @IsSingleLine({ each: true })
  @MaxLength(60, { each: true })
  tags?: string[];

  @ApiPropertyOptional({ enum: ARTICLE_ACCESS, default: 'premium' })
  @IsOptional()
  @IsIn(ARTICLE_ACCESS)
  access?: ArticleAccess;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsSingleLine()
  @MaxLength(200)
  author?: string;

  @ApiPropertyOptional({
    description: 'No new comment is taken on this article; those written stay shown',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  comments_closed?: boolean;
}

export class UpdateArticleDto extends PartialType(CreateArticleDto) {}

export class ScheduleArticleDto {
  @ApiProperty({
    description: 'ISO 8601; without an offset it is read in the publication time zone',
    example: '2026-12-01T18:00',
  })
  @IsString()
  @MaxLength(40)
  publish_at!: string;
}
