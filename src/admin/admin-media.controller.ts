import { Body, Controller, HttpCode, Post, Query, UseFilters, UseGuards, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InvalidInputException } from '../http/api-error.js';
import { TakesBody } from '../http/request-bodies.js';
import { isSingleLine } from '../lib/single-line.js';
import { MediaLibrary } from '../media/media-library.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { one } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

/** The longest description an image may have: a sentence or two. */
const ALT_MAX = 300;

/**
 * An image uploaded from the article editor (its bytes as the body, its description in `alt`):
 * stored at every width pages need, and answered with the Markdown that shows it.
 */
@ApiExcludeController()
@UseFilters(DeskExceptionFilter)
@UseGuards(DeskSessionGuard)
@Controller('admin/media')
export class AdminMediaController {
  constructor(@Inject(MediaLibrary) private readonly media: MediaLibrary) {}

  @Post()
  @HttpCode(201)
  @TakesBody('image')
  async upload(
    @Query() query: Record<string, unknown>,
    @Body() body: unknown,
  ): Promise<{ address: string; width: number; height: number; markdown: string }> {
    const alt = (one(query.alt) ?? '').trim();
    if (alt === '') throw InvalidInputException.field('alt', 'describe the image', 'isNotBlank');
    if (alt.length > ALT_MAX || !isSingleLine(alt) || /[[\]]/.test(alt))
      throw InvalidInputException.field(
        'alt',
        `one line of at most ${ALT_MAX} characters, without brackets`,
        'alt',
      );
    if (!Buffer.isBuffer(body) || body.length === 0)
      throw InvalidInputException.field('file', 'send the image as the body (image/*)', 'image-format');
    const stored = await this.media.store(body);
    return { ...stored, markdown: `![${alt}](${stored.address})` };
  }
}
