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
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { EditorAuthGuard } from '../http/editor-auth.guard.js';
import { uuidParam } from '../http/validation.js';
import { CreateScheduleDto, UpdateScheduleDto } from './dto/schedule-input.dto.js';
import { EditionSchedulesService } from './edition-schedules.service.js';
import { ScheduleResource } from './schedule.resource.js';

const uuid = uuidParam('an edition schedule');

/** Recurring editions: every slot of a cron expression makes an edition of what was published since. */
@ApiTags('edition schedules')
@ApiBearerAuth()
@UseGuards(EditorAuthGuard)
@Controller('api/edition-schedules')
export class EditionSchedulesAdminController {
  constructor(@Inject(EditionSchedulesService) private readonly schedules: EditionSchedulesService) {}

  @Post()
  @ApiOkResponse({ type: ScheduleResource })
  async create(@Body() body: CreateScheduleDto): Promise<ScheduleResource> {
    return ScheduleResource.from(await this.schedules.create(body));
  }

  @Get()
  @ApiOkResponse({ type: [ScheduleResource] })
  async list(): Promise<ScheduleResource[]> {
    return (await this.schedules.list()).map((row) => ScheduleResource.from(row));
  }

  @Get(':id')
  @ApiOkResponse({ type: ScheduleResource })
  async get(@Param('id', uuid) id: string): Promise<ScheduleResource> {
    return ScheduleResource.from(await this.schedules.get(id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: ScheduleResource })
  async update(@Param('id', uuid) id: string, @Body() body: UpdateScheduleDto): Promise<ScheduleResource> {
    return ScheduleResource.from(await this.schedules.update(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id', uuid) id: string): Promise<void> {
    await this.schedules.remove(id);
  }
}
