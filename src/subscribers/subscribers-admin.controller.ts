import type { Readable } from 'node:stream';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TakesBody } from '../http/request-bodies.js';
import { InvalidInputException } from '../http/api-error.js';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { uuidParam } from '../http/validation.js';
import {
  CreateSubscriberDto,
  ExportSubscribersQuery,
  ListSubscribersQuery,
  UpdateSubscriberDto,
} from './dto/subscriber-input.dto.js';
import { type ImportReport, SubscriberImporter } from './subscriber-importer.js';
import { ImportReportResource, SubscriberPageResource, SubscriberResource } from './subscriber.resource.js';
import { SubscribersAdminService } from './subscribers-admin.service.js';

const uuid = uuidParam('a subscriber');

@ApiTags('subscribers')
@ApiBearerAuth()
@UseGuards(EditorAuthGuard)
@Controller('api/subscribers')
export class SubscribersAdminController {
  constructor(
    @Inject(SubscribersAdminService) private readonly subscribers: SubscribersAdminService,
    @Inject(SubscriberImporter) private readonly importer: SubscriberImporter,
  ) {}

  @Get()
  @ApiOkResponse({ type: SubscriberPageResource })
  async list(@Query() query: ListSubscribersQuery): Promise<SubscriberPageResource> {
    const page = await this.subscribers.list(
      { status: query.status, tier: query.tier, search: query.q?.trim() || undefined },
      Number(query.limit ?? 50),
      query.cursor,
      query.sort,
    );
    return { items: page.items.map((row) => SubscriberResource.from(row)), next_cursor: page.nextCursor };
  }

  /** Streams every matching subscriber as CSV. */
  @Get('export')
  @ApiProduces('text/csv')
  async export(@Query() query: ExportSubscribersQuery, @Res() reply: FastifyReply): Promise<void> {
    const day = new Date().toISOString().slice(0, 10);
    await reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="subscribers-${day}.csv"`)
      .send(this.subscribers.exportCsv({ status: query.status, tier: query.tier }));
  }

  /** Body: a CSV file (text/csv) with a header row: email, and optionally name and tier. */
  @Post('import')
  @TakesBody('csv-stream')
  @HttpCode(200)
  @ApiConsumes('text/csv')
  @ApiBody({ schema: { type: 'string', example: 'email,name,tier\nlectrice@exemple.fr,Hélène,premium\n' } })
  @ApiOkResponse({ type: ImportReportResource })
  async import(@Req() request: FastifyRequest): Promise<ImportReport> {
    const type = request.headers['content-type'] ?? '';
    if (!/^(text|application)\/csv\b/.test(type)) {
      throw InvalidInputException.field('content-type', `must be text/csv, got "${type || 'none'}"`, 'csv');
    }
    return this.importer.import(request.body as Readable);
  }

  @Get(':id')
  @ApiOkResponse({ type: SubscriberResource })
  async get(@Param('id', uuid) id: string): Promise<SubscriberResource> {
    return SubscriberResource.from(await this.subscribers.get(id));
  }

  /** 201 with the subscriber when confirmed; 202 when a confirmation email is on its way. */
  @Post()
  async create(
    @Body() body: CreateSubscriberDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SubscriberResource | { status: 'pending' }> {
    const row = await this.subscribers.create(body, request.ip);
    if (row) return SubscriberResource.from(row);
    void reply.status(202);
    return { status: 'pending' };
  }

  @Patch(':id')
  @ApiOkResponse({ type: SubscriberResource })
  async update(
    @Param('id', uuid) id: string,
    @Body() body: UpdateSubscriberDto,
  ): Promise<SubscriberResource> {
    return SubscriberResource.from(await this.subscribers.update(id, body));
  }

  /** Erases the subscriber; the address goes on the suppression list. */
  @Delete(':id')
  @HttpCode(204)
  async erase(@Param('id', uuid) id: string): Promise<void> {
    await this.subscribers.erase(id);
  }
}
