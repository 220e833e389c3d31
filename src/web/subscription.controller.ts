import { Body, Controller, Get, Header, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { SubscriberRow } from '../database/schema.js';
import { TakesBody } from '../http/request-bodies.js';
import { IsSingleLine } from '../http/validation.js';
import type { Messages } from '../i18n/messages.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { SubscribeDto } from '../subscribers/dto/subscriber-input.dto.js';
import { SubscriptionService } from '../subscribers/subscription.service.js';
import { PageRenderer } from './page-renderer.js';

export class PreferencesFormDto {
  @IsIn(['save', 'resubscribe'])
  action!: 'save' | 'resubscribe';

  @IsOptional()
  @IsString()
  @IsSingleLine()
  @MaxLength(100)
  name?: string;
}

const HTML = 'text/html; charset=utf-8';
const PRIVATE = 'no-store';
const TOKEN = /^[A-Za-z0-9_.-]{1,200}$/;

interface MessageForm {
  readonly action: string;
  readonly button: string;
  readonly fields?: readonly { name: string; value: string }[];
}

function wantsJson(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/json');
}

/** The subscriber's side of the blog: subscribe, confirm, unsubscribe, preferences. */
@ApiTags('subscription')
@Controller()
export class SubscriptionController {
  constructor(
    @Inject(SubscriptionService) private readonly subscriptions: SubscriptionService,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}
  /** The wording of the publication's locale, as it stands. */
  private get t(): Messages {
    return this.renderer.t;
  }

  private page(heading: string, paragraphs: readonly string[], form?: MessageForm): string {
    return this.renderer.readerPage('message', heading, { heading, paragraphs, form });
  }

  /**
   * Double opt-in, step one. Answers the same whatever the address's state; a filled honeypot gets
   * the same answer and nothing is done; past the per-client limit, 429.
   */
  @Post('subscribe')
  @HttpCode(200)
  async subscribe(
    @Body() body: SubscribeDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const json = wantsJson(request);
    void reply.header('Cache-Control', PRIVATE);
    const decision = await this.rateLimiter.hit('subscribe', request.ip, this.config.subscribeRateLimit);
    if (!decision.allowed) {
      void reply.status(429).header('Retry-After', String(decision.retryAfterSeconds));
      await (json
        ? reply.send({ statusCode: 429, error: 'Too Many Requests', message: this.t.tooManyText })
        : reply.type(HTML).send(this.page(this.t.tooManyTitle, [this.t.tooManyText])));
      return;
    }
    if (!body.website) {
      await this.subscriptions.requestSubscription({
        email: body.email,
        name: body.name ?? '',
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
        source: 'form',
      });
    }
    await (json
      ? reply.status(202).send({ status: 'pending', message: this.t.subscribeDoneText })
      : reply.type(HTML).send(this.page(this.t.subscribeDoneTitle, [this.t.subscribeDoneText])));
  }

  /** Shows a button and changes nothing, so that a link scanner fetching the link confirms nothing. */
  @Get('confirm/:token')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async confirmPage(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    if (!TOKEN.test(token) || !(await this.subscriptions.confirmationIsLive(token))) {
      await reply
        .status(400)
        .type(HTML)
        .send(this.page(this.t.linkInvalidTitle, [this.t.confirmLinkInvalid]));
      return;
    }
    const action = `${this.config.publicUrl}/confirm/${token}`;
    await reply
      .type(HTML)
      .send(
        this.page(this.t.confirmTitle, [this.t.confirmPageText], { action, button: this.t.confirmButton }),
      );
  }

  @Post('confirm/:token')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async confirm(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    if (!TOKEN.test(token) || !(await this.subscriptions.confirm(token))) {
      await reply
        .status(400)
        .type(HTML)
        .send(this.page(this.t.linkInvalidTitle, [this.t.confirmLinkInvalid]));
      return;
    }
    await reply.type(HTML).send(this.page(this.t.confirmedTitle, [this.t.confirmedText]));
  }

  private async manageTokenOrInvalid(token: string, reply: FastifyReply): Promise<SubscriberRow | undefined> {
    try {
      if (!TOKEN.test(token)) throw new Error('malformed');
      return await this.subscriptions.subscriberFor(token);
    } catch {
      await reply
        .status(400)
        .type(HTML)
        .send(this.page(this.t.linkInvalidTitle, [this.t.manageLinkInvalid]));
      return undefined;
    }
  }

  @Get('unsubscribe/:token')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async unsubscribePage(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    const subscriber = await this.manageTokenOrInvalid(token, reply);
    if (!subscriber) return;
    const action = `${this.config.publicUrl}/unsubscribe/${token}`;
    await reply.type(HTML).send(
      this.page(this.t.unsubscribeTitle, [`${this.t.unsubscribeText} ${subscriber.email}.`], {
        action,
        button: this.t.unsubscribeButton,
      }),
    );
  }

  /**
   * RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`), and the page's button: no
   * cookie needed, no redirect, 200, idempotent.
   */
  @Post('unsubscribe/:token')
  @TakesBody('anything')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async unsubscribe(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    if (!(await this.manageTokenOrInvalid(token, reply))) return;
    await this.subscriptions.unsubscribe(token);
    await reply
      .status(200)
      .type(HTML)
      .send(this.page(this.t.unsubscribedTitle, [this.t.unsubscribedText]));
  }

  private preferencesPage(token: string, subscriber: SubscriberRow, saved: boolean): string {
    const base = `${this.config.publicUrl}/preferences/${token}`;
    const statusLabel =
      subscriber.status === 'active'
        ? this.t.statusActive
        : subscriber.status === 'pending'
          ? this.t.statusPending
          : subscriber.status === 'unsubscribed'
            ? this.t.statusUnsubscribed
            : this.t.statusBlocked;
    return this.renderer.readerPage('preferences', this.t.preferencesTitle, {
      saved,
      subscriber: {
        email: subscriber.email,
        name: subscriber.name,
        tierLabel: subscriber.tier === 'premium' ? this.t.tierPremium : this.t.tierFree,
        statusLabel,
        active: subscriber.status === 'active' || subscriber.status === 'pending',
        unsubscribed: subscriber.status === 'unsubscribed',
      },
      actions: {
        save: base,
        unsubscribe: `${this.config.publicUrl}/unsubscribe/${token}`,
        export: `${base}/export`,
        erase: `${base}/erase`,
      },
    });
  }

  @Get('preferences/:token')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async preferences(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    const subscriber = await this.manageTokenOrInvalid(token, reply);
    if (!subscriber) return;
    await reply.type(HTML).send(this.preferencesPage(token, subscriber, false));
  }

  @Post('preferences/:token')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async savePreferences(
    @Param('token') token: string,
    @Body() body: PreferencesFormDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!(await this.manageTokenOrInvalid(token, reply))) return;
    if (body.action === 'resubscribe') await this.subscriptions.resubscribe(token);
    else await this.subscriptions.rename(token, body.name ?? '');
    const subscriber = await this.subscriptions.subscriberFor(token);
    await reply.type(HTML).send(this.preferencesPage(token, subscriber, true));
  }

  @Get('preferences/:token/export')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async exportData(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    if (!(await this.manageTokenOrInvalid(token, reply))) return;
    const data = await this.subscriptions.exportData(token);
    await reply
      .type('application/json; charset=utf-8')
      .header('Content-Disposition', 'attachment; filename="mes-donnees.json"')
      .send(JSON.stringify(data, null, 2));
  }

  @Post('preferences/:token/erase')
  @HttpCode(200)
  @ApiExcludeEndpoint()
  @Header('Cache-Control', PRIVATE)
  async erase(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    if (!(await this.manageTokenOrInvalid(token, reply))) return;
    await this.subscriptions.erase(token);
    await reply.type(HTML).send(this.page(this.t.erasedTitle, [this.t.erasedText]));
  }
}
