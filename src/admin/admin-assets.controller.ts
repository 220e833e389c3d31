import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminRenderer } from './admin-renderer.js';

const TYPES: Readonly<Record<string, string>> = {
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The desk's stylesheet and scripts: URLs carry a content hash, so they are cached for good. */
@ApiExcludeController()
@Controller('admin/assets')
export class AdminAssetsController {
  constructor(@Inject(AdminRenderer) private readonly renderer: AdminRenderer) {}

  @Get(':file')
  async serve(@Param('file') file: string, @Res() reply: FastifyReply): Promise<void> {
    const body = this.renderer.assets.get(file)?.body;
    if (body === undefined) throw new NotFoundException(`No asset ${file}`);
    await reply
      .header('Cache-Control', 'public, max-age=31536000, immutable')
      .type(TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream')
      .send(body);
  }
}
