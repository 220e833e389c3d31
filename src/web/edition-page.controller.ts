import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { isUUID } from 'class-validator';
import { EditionWebVersionService } from '../editions/edition-web-version.service.js';
import { PUBLIC_CACHE_CONTROL } from './cache-policy.js';

const TOKEN_MAX_LENGTH = 128;

/** The "read on the web" link of every email: the edition as its reader's tier sees it. */
@ApiExcludeController()
@Controller('editions')
export class EditionPageController {
  constructor(@Inject(EditionWebVersionService) private readonly webVersions: EditionWebVersionService) {}

  /** The teaser edition, for anyone: it holds only what the public blog shows. */
  @Get(':id')
  async public(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    if (!isUUID(id, '4')) throw new NotFoundException('No such edition');
    const { html } = await this.webVersions.render(id);
    await reply.type('text/html; charset=utf-8').header('Cache-Control', PUBLIC_CACHE_CONTROL).send(html);
  }

  /** A subscriber's own link: their tier now; never cached by a proxy, never indexed. */
  @Get(':id/:token')
  async reader(
    @Param('id') id: string,
    @Param('token') token: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!isUUID(id, '4') || token.length > TOKEN_MAX_LENGTH) throw new NotFoundException('No such edition');
    const { html } = await this.webVersions.render(id, token);
    await reply
      .type('text/html; charset=utf-8')
      .header('Cache-Control', 'private, no-store')
      .header('X-Robots-Tag', 'noindex')
      .header('Referrer-Policy', 'no-referrer')
      .send(html);
  }
}
