import { Module } from '@nestjs/common';
import { ArticlesModule } from '../articles/articles.module.js';
import { EditionsModule } from '../editions/editions.module.js';
import { BlogController } from './blog.controller.js';
import { BlogReaders } from './blog-readers.js';
import { EditionPageController } from './edition-page.controller.js';
import { CrawlersController } from './crawlers.controller.js';
import { FeedController } from './feed.controller.js';
import { HttpExceptionFilter } from './http-exception.filter.js';
import { PageRenderer } from './page-renderer.js';
import { SubscriptionController } from './subscription.controller.js';
import { SubscribersModule } from '../subscribers/subscribers.module.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { MailModule } from '../mail/mail.module.js';
import { MembersModule } from '../members/members.module.js';
import { MembersController } from './members.controller.js';
import { PaymentsModule } from '../payments/payments.module.js';
import { StripeWebhookController } from './stripe-webhook.controller.js';
import { UpgradeController } from './upgrade.controller.js';
import { FeedbackModule } from '../feedback/feedback.module.js';
import { RelayWebhooksController } from './relay-webhooks.controller.js';
import { CommentsModule } from '../comments/comments.module.js';
import { CommentsController } from './comments.controller.js';
import { ArticlePages } from './article-pages.js';
import { MediaModule } from '../media/media.module.js';
import { MediaController } from './media.controller.js';

@Module({
  imports: [
    ArticlesModule,
    SubscribersModule,
    EditionsModule,
    MailModule,
    MembersModule,
    PaymentsModule,
    FeedbackModule,
    CommentsModule,
    MediaModule,
  ],
  controllers: [
    FeedController,
    CrawlersController,
    BlogController,
    CommentsController,
    MediaController,
    EditionPageController,
    SubscriptionController,
    MembersController,
    UpgradeController,
    StripeWebhookController,
    RelayWebhooksController,
  ],
  providers: [PageRenderer, BlogReaders, ArticlePages, RateLimiter, HttpExceptionFilter],
  // The application registers it as its one global filter (bootstrap.ts).
  exports: [HttpExceptionFilter],
})
export class WebModule {}
