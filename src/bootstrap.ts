import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { registerEncodedBodies } from './http/encoded-bodies.js';
import { registerRequestBodies } from './http/request-bodies.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { createValidationPipe } from './http/validation.js';
import { createAppLogger } from './logging/app-logger.js';
import { NestPinoLogger } from './logging/nest-logger.js';
import { registerRequestLog } from './logging/request-log.js';
import { MetricsService } from './ops/metrics.service.js';
import { HttpExceptionFilter } from './web/http-exception.filter.js';
import { PageCache } from './web/page-cache.js';
import { PublicationSettings } from './settings/publication-settings.js';
import { QueueDashboard } from './admin/queue-dashboard.js';
import { ClickRedirect } from './feedback/click-redirect.js';

// Signals are main.ts's to handle (it also stops a private Redis after the app), so neither factory
// calls enableShutdownHooks: app.close() runs the same shutdown hooks.

/** Stripe's hosted pages a form may lead to: checkout and portal, or the API server standing in for them. */
function stripePages(config: AppConfig): string[] {
  if (!config.stripe) return [];
  const { api } = config.stripe;
  return api
    ? [`${api.protocol}://${api.host}:${api.port}`]
    : ['https://checkout.stripe.com', 'https://billing.stripe.com'];
}

/** The HTTP application (role api or all): the same code serves `npm start` and the tests. */
export async function createHttpApp(config: AppConfig): Promise<NestFastifyApplication> {
  // Click links are answered by the HTTP server itself, ahead of Fastify (see ClickRedirect).
  const clicks: { redirect?: ClickRedirect } = {};
  const adapter = new FastifyAdapter({
    // Fastify takes a hop count too, though its types leave numbers out.
    trustProxy: config.trustProxy as boolean | string,
    bodyLimit: config.maxBodyBytes,
    routerOptions: { ignoreTrailingSlash: true },
    serverFactory: (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
      createServer((request, response) => {
        const application = (): void => {
          handler(request, response);
        };
        if (!clicks.redirect?.serve(request, response, application)) application();
      }),
  });
  registerEncodedBodies(adapter.getInstance());
  // First of all request hooks: a cached public page is answered before anything else runs.
  const pageCache = new PageCache(config.pageCacheSeconds);
  pageCache.register(adapter.getInstance());
  const logger = createAppLogger(config);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forConfig(config), adapter, {
    logger: new NestPinoLogger(logger),
    // Every body parser is registered by registerRequestBodies, with the routes that take each.
    bodyParser: false,
    // Boot errors (a broken template, an unreachable database) are thrown to the caller, which
    // reports them, rather than ending the process from inside Nest.
    abortOnError: false,
  });
  app.get(PublicationSettings).onChange(() => {
    pageCache.clear();
  });
  const clickRedirect = app.get(ClickRedirect);
  clickRedirect.register(app.getHttpAdapter().getInstance());
  clicks.redirect = clickRedirect;
  app.useGlobalPipes(createValidationPipe());
  // One error body for the whole application; the desk's pages add their own filter on top.
  app.useGlobalFilters(app.get(HttpExceptionFilter));

  registerSecurityHeaders(adapter.getInstance(), {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'https:', 'data:'],
        // Swagger UI at /docs styles itself inline; the blog itself has no inline style or script.
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        // Forms that answer with a redirect to Stripe (checkout, billing portal) need its pages too.
        formAction: ["'self'", config.publicUrl, ...stripePages(config)],
        frameAncestors: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    // Other sites learn nothing of our URLs (tokens ride in some), but our own forms keep their
    // Origin header: with no-referrer, browsers send "Origin: null" and a same-origin post looks foreign.
    referrerPolicy: { policy: 'same-origin' },
    // Behind https, browsers are told to come back over https only; never over plain http.
    strictTransportSecurity: config.publicUrl.startsWith('https:')
      ? { maxAge: 31_536_000, includeSubDomains: false }
      : false,
  });

  await app.register(fastifyCookie);
  const fastify = app.getHttpAdapter().getInstance();
  registerRequestLog(fastify, logger);
  registerRequestBodies(fastify);
  await app.get(QueueDashboard).register(fastify);
  // Editor API answers are private and change with every write: no cache may keep them.
  // Every hook run at every request takes a callback rather than returning a promise: three such
  // hooks' promises took a fifth of the CPU of a page sent from memory (60 µs → 48 µs a request).
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control'))
      reply.header('Cache-Control', 'no-store');
    done(null, payload);
  });
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });

  // Built on the first request for it, not at every boot.
  const document = (): OpenAPIObject =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Dépêche')
        .setDescription(
          'Editor API of Dépêche: articles, editions and subscribers. Authenticate with a Bearer token.',
        )
        .setVersion('1')
        // Tokens are opaque random strings, not JWTs: undefined replaces the builder's 'JWT'.
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          bearerFormat: undefined,
          description:
            'An API token: made on the desk (Tokens), or the owner token of ADMIN_API_TOKEN. Sent as `Authorization: Bearer <token>`.',
        })
        .build(),
    );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

/** A worker-only process (role worker): no HTTP server, just the tick and the queue processors. */
export async function createWorkerContext(config: AppConfig): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(AppModule.forConfig(config), {
    logger: new NestPinoLogger(createAppLogger(config)),
    abortOnError: false,
  });
}
