import { Body, Controller, HttpCode, Inject, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { TakesBody } from '../http/request-bodies.js';
import { type DescribedImage, MediaLibrary } from '../media/media-library.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { one } from './desk-http.js';
import { DeskSessionGuard } from './desk-session.guard.js';

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
  upload(@Query() query: Record<string, unknown>, @Body() body: unknown): Promise<DescribedImage> {
    return this.media.upload(body, one(query.alt));
  }
}
