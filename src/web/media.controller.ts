import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MediaLibrary } from '../media/media-library.js';

/** Uploaded images, as pages, feeds and emails link them: never changed once stored. */
@ApiExcludeController()
@Controller('media')
export class MediaController {
  constructor(@Inject(MediaLibrary) private readonly media: MediaLibrary) {}

  @Get(':id/:file')
  async file(
    @Param('id') id: string,
    @Param('file') name: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const file = await this.media.file(id, name);
    if (!file) throw new NotFoundException('No such image');
    // Named by a digest of their bytes: any change is another address.
    if (file.length !== undefined) void reply.header('Content-Length', file.length);
    await reply
      .header('Cache-Control', 'public, max-age=31536000, immutable')
      .header('X-Content-Type-Options', 'nosniff')
      .type(file.type)
      .send(file.body);
  }
}
