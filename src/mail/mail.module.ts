import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module.js';
import { EditionComposer } from './edition-composer.js';
import { EmailRenderer } from './email-renderer.js';
import { MailTransport } from './mail-transport.js';
import { SubscriberTokens } from './subscriber-tokens.js';
import { TransactionalMailer } from './transactional-mailer.js';

@Module({
  // The premium offer that free editions make is set on the desk.
  imports: [SettingsModule],
  providers: [EmailRenderer, MailTransport, TransactionalMailer, EditionComposer, SubscriberTokens],
  exports: [EmailRenderer, MailTransport, TransactionalMailer, EditionComposer, SubscriberTokens],
})
export class MailModule {}
