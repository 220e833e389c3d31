import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { countsInLedger } from '../edition-lifecycle/edition-states.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { uuidParam } from '../http/validation.js';
import {
  CreateEditionDto,
  PreviewQuery,
  ScheduleEditionDto,
  TestEditionDto,
  UpdateEditionDto,
} from './dto/edition-input.dto.js';
import { EditionResource } from './edition.resource.js';
import { EditionsService } from './editions.service.js';

const uuid = uuidParam('an edition');

@ApiTags('editions')
@ApiBearerAuth()
@UseGuards(EditorAuthGuard)
@Controller('api/editions')
export class EditionsAdminController {
  constructor(@Inject(EditionsService) private readonly editions: EditionsService) {}

  private async resource(id: string): Promise<EditionResource> {
    const row = await this.editions.get(id);
    return EditionResource.from(row, countsInLedger(row.status) ? await this.editions.counts(id) : undefined);
  }

  @Post()
  @ApiOkResponse({ type: EditionResource })
  async create(@Body() body: CreateEditionDto): Promise<EditionResource> {
    return EditionResource.from(await this.editions.create(body));
  }

  @Get()
  @ApiOkResponse({ type: [EditionResource] })
  async list(): Promise<EditionResource[]> {
    return (await this.editions.list(1, 100)).map((row) => EditionResource.from(row));
  }

  /** The edition with live counts {total, pending, sent, failed, skipped} while it sends. */
  @Get(':id')
  @ApiOkResponse({ type: EditionResource })
  get(@Param('id', uuid) id: string): Promise<EditionResource> {
    return this.resource(id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: EditionResource })
  async update(@Param('id', uuid) id: string, @Body() body: UpdateEditionDto): Promise<EditionResource> {
    return EditionResource.from(await this.editions.update(id, body));
  }

  @Post(':id/schedule')
  @HttpCode(200)
  @ApiOkResponse({ type: EditionResource })
  async schedule(@Param('id', uuid) id: string, @Body() body: ScheduleEditionDto): Promise<EditionResource> {
    return EditionResource.from(await this.editions.schedule(id, body.send_at));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: EditionResource })
  async cancel(@Param('id', uuid) id: string): Promise<EditionResource> {
    await this.editions.cancel(id);
    return this.resource(id);
  }

  @Post(':id/test')
  @HttpCode(202)
  async test(@Param('id', uuid) id: string, @Body() body: TestEditionDto): Promise<{ status: 'queued' }> {
    await this.editions.sendTest(id, body.email, body.tier ?? 'premium');
    return { status: 'queued' };
  }

  /** The email's HTML as the tier receives it; X-Gmail-Clipping warns past 102 KB. */
  @Get(':id/preview')
  @ApiProduces('text/html')
  async preview(
    @Param('id', uuid) id: string,
    @Query() query: PreviewQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const preview = await this.editions.preview(id, query.tier ?? 'free');
    if (preview.warning) void reply.header('X-Gmail-Clipping', preview.warning);
    await reply
      .header('X-Html-Bytes', String(preview.htmlBytes))
      .header('Cache-Control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(preview.html);
  }
}
