import { Module } from '@nestjs/common';
import { ArticlesModule } from '../articles/articles.module.js';
import { EditionsModule } from '../editions/editions.module.js';
import { RateLimiter } from '../redis/rate-limiter.js';
import { SubscribersModule } from '../subscribers/subscribers.module.js';
import { AdminArticlesController } from './admin-articles.controller.js';
import { AdminAssetsController } from './admin-assets.controller.js';
import { AdminAuthController } from './admin-auth.controller.js';
import { AdminAuthService } from './admin-auth.service.js';
import { AdminDashboardController } from './admin-dashboard.controller.js';
import { AdminEditionsController } from './admin-editions.controller.js';
import { AdminPaymentsController } from './admin-payments.controller.js';
import { AdminSettingsController } from './admin-settings.controller.js';
import { AdminRenderer } from './admin-renderer.js';
import { PaymentsModule } from '../payments/payments.module.js';
import { AdminSubscribersController } from './admin-subscribers.controller.js';
import { AdminTeamController } from './admin-team.controller.js';
import { AdminTokensController } from './admin-tokens.controller.js';
import { DeskCookies } from './desk-cookies.js';
import { DeskDashboardService } from './desk-dashboard.service.js';
import { DeskExceptionFilter } from './desk-exception.filter.js';
import { DeskSessionGuard } from './desk-session.guard.js';
import { ImportProgress } from './import-progress.js';
import { QueueDashboard } from './queue-dashboard.js';
import { SessionStore } from './session-store.js';
import { QueueModule } from '../queue/queue.module.js';
import { MailModule } from '../mail/mail.module.js';
import { EditorsModule } from '../editors/editors.module.js';
import { SettingsModule } from '../settings/settings.module.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { EditionReports } from './edition-report.js';
import { SubscriberHistory } from './subscriber-history.js';
import { CommentsModule } from '../comments/comments.module.js';
import { AdminCommentsController } from './admin-comments.controller.js';
import { DeskAccountsModule } from '../desk-accounts/desk-accounts.module.js';
import { AdminAccountLinksController } from './admin-account-links.controller.js';
import { MediaModule } from '../media/media.module.js';
import { AdminMediaController } from './admin-media.controller.js';

/** The editor's desk: the web UI under /admin and its sign-in. */
@Module({
  imports: [
    ArticlesModule,
    EditionsModule,
    SubscribersModule,
    PaymentsModule,
    QueueModule,
    MailModule,
    EditorsModule,
    SettingsModule,
    DeliveryModule,
    CommentsModule,
    DeskAccountsModule,
    MediaModule,
  ],
  controllers: [
    AdminAssetsController,
    AdminAuthController,
    AdminAccountLinksController,
    AdminDashboardController,
    AdminArticlesController,
    AdminMediaController,
    AdminEditionsController,
    AdminSubscribersController,
    AdminPaymentsController,
    AdminSettingsController,
    AdminCommentsController,
    AdminTokensController,
    AdminTeamController,
  ],
  providers: [
    AdminRenderer,
    AdminAuthService,
    SessionStore,
    DeskCookies,
    DeskSessionGuard,
    DeskExceptionFilter,
    DeskDashboardService,
    EditionReports,
    SubscriberHistory,
    ImportProgress,
    QueueDashboard,
    RateLimiter,
  ],
})
export class AdminModule {}
