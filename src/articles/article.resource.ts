import { ApiProperty } from '@nestjs/swagger';
import type { ArticleRow } from '../database/schema.js';

/** An article as the editor API shows it. Editors see everything, so nothing here is gated. */
export class ArticleResource {
  @ApiProperty() id!: string;
  @ApiProperty() slug!: string;
  @ApiProperty() title!: string;
  @ApiProperty() lede!: string;
  @ApiProperty() body_md!: string;
  @ApiProperty() body_html!: string;
  @ApiProperty() teaser_html!: string;
  @ApiProperty({ type: [String] }) tags!: string[];
  @ApiProperty({ enum: ['public', 'premium'] }) access!: string;
  @ApiProperty({ enum: ['draft', 'scheduled', 'published'] }) status!: string;
  @ApiProperty({ nullable: true, type: String }) publish_at!: string | null;
  @ApiProperty({ nullable: true, type: String }) published_at!: string | null;
  @ApiProperty() author!: string;
  @ApiProperty() comments_closed!: boolean;
  @ApiProperty() url!: string;
  @ApiProperty() created_at!: string;
  @ApiProperty() updated_at!: string;

  static from(row: ArticleRow, publicUrl: string): ArticleResource {
    return {
      id: row.id,
      slug: row.slug,
      title: row.title,
      lede: row.lede,
      body_md: row.bodyMd,
      body_html: row.bodyHtml,
      teaser_html: row.teaserHtml,
      tags: row.tags,
      access: row.access,
      status: row.status,
      publish_at: row.publishAt?.toISOString() ?? null,
      published_at: row.publishedAt?.toISOString() ?? null,
      author: row.author,
      comments_closed: row.commentsClosed,
      url: `${publicUrl}/articles/${row.slug}`,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
  }
}

export class ArticlePageResource {
  @ApiProperty({ type: [ArticleResource] }) items!: ArticleResource[];
  @ApiProperty() page!: number;
  @ApiProperty() limit!: number;
  @ApiProperty() total!: number;
}
