import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { DELIVERY_QUEUE, DESK_QUEUE, MEMBERS_QUEUE, SUBSCRIPTIONS_QUEUE } from '../queue/jobs.js';
import { adminMessagesFor } from '../i18n/admin-messages.js';
import { DeskCookies } from './desk-cookies.js';
import { AdminAuthService } from './admin-auth.service.js';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board at /admin/queues, behind the desk's sign-in. It is a Fastify plugin rather than a Nest
 * route, so the session is checked in a hook of its own scope; its buttons (retry, clean, pause)
 * change things, so those requests must also come from the desk's own origin.
 */
@Injectable()
export class QueueDashboard {
  private readonly origin: string;

  constructor(
    @InjectQueue(DELIVERY_QUEUE) private readonly deliveryQueue: Queue,
    @InjectQueue(SUBSCRIPTIONS_QUEUE) private readonly subscriptionsQueue: Queue,
    @InjectQueue(MEMBERS_QUEUE) private readonly membersQueue: Queue,
    @InjectQueue(DESK_QUEUE) private readonly deskQueue: Queue,
    @Inject(AdminAuthService) private readonly auth: AdminAuthService,
    @Inject(DeskCookies) private readonly cookies: DeskCookies,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.origin = new URL(config.publicUrl).origin;
  }

  /** Titled as the publication was at boot: the board's own page takes its options once. */
  async register(fastify: FastifyInstance): Promise<void> {
    const publication = this.publication.current();
    const serverAdapter = new FastifyAdapter();
    createBullBoard({
      queues: [
        new BullMQAdapter(this.deliveryQueue),
        new BullMQAdapter(this.subscriptionsQueue),
        new BullMQAdapter(this.membersQueue),
        new BullMQAdapter(this.deskQueue),
      ],
      serverAdapter,
      options: {
        uiConfig: {
          boardTitle: publication.name,
          // The way back to the desk, and no link out to bull-board's own site.
          miscLinks: [{ text: adminMessagesFor(publication.locale).desk, url: '/admin' }],
          hideDocsLink: true,
        },
      },
    });
    serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
    await fastify.register(async (scope) => {
      scope.addHook('onRequest', async (request, reply) => {
        const sessionId = this.cookies.sessionId(request);
        if (!(await this.auth.resolve(sessionId))) {
          const next = encodeURIComponent(QUEUE_DASHBOARD_PATH);
          await reply.header('Cache-Control', 'no-store').redirect(`/admin/sign-in?next=${next}`, 303);
          return reply;
        }
        const origin = request.headers.origin;
        const sameSite =
          origin === undefined || origin === this.origin || URL.parse(origin)?.host === request.headers.host;
        if (request.method !== 'GET' && request.method !== 'HEAD' && !sameSite) {
          await reply
            .status(403)
            .send({ statusCode: 403, error: 'Forbidden', message: 'Cross-site request refused' });
          return reply;
        }
        return undefined;
      });
      // The board's page asks Google for its fonts: a self-hosted desk calls no third party, and
      // the page's CSP would refuse them anyway. Bodies are bytes by now (registerEncodedBodies).
      scope.addHook('onSend', async (_request, reply, payload) => {
        const type = String(reply.getHeader('content-type') ?? '');
        if (!type.startsWith('text/html') || !(typeof payload === 'string' || Buffer.isBuffer(payload)))
          return payload;
        return Buffer.from(
          String(payload).replace(/<link[^>]+fonts\.(?:googleapis|gstatic)\.com[^>]*>/g, ''),
          'utf8',
        );
      });
      await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
    });
  }
}
