import { Body, Controller, HttpCode, Inject, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiCreatedResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { one } from '../http/form-values.js';
import { TakesBody } from '../http/request-bodies.js';
import { type DescribedImage, MediaLibrary } from './media-library.js';

/** The editor API's image upload: the same as the desk's, for scripts and other editors. */
@ApiTags('media')
@ApiBearerAuth()
@UseGuards(EditorAuthGuard)
@Controller('api/media')
export class MediaAdminController {
  constructor(@Inject(MediaLibrary) private readonly media: MediaLibrary) {}

  @Post()
  @HttpCode(201)
  @TakesBody('image')
  @ApiConsumes('image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif')
  @ApiQuery({ name: 'alt', description: 'What the image shows, for those who cannot see it (required)' })
  @ApiCreatedResponse({
    description: 'The address to use in Markdown, the original size, and the Markdown itself',
  })
  upload(@Query() query: Record<string, unknown>, @Body() body: unknown): Promise<DescribedImage> {
    return this.media.upload(body, one(query.alt));
  }
}
