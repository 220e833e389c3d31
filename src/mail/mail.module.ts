import { Module } from '@nestjs/common';
import { EditionComposer } from './edition-composer.js';
import { EmailRenderer } from './email-renderer.js';
import { MailTransport } from './mail-transport.js';
import { SubscriberTokens } from './subscriber-tokens.js';
import { TransactionalMailer } from './transactional-mailer.js';

@Module({
  providers: [EmailRenderer, MailTransport, TransactionalMailer, EditionComposer, SubscriberTokens],
  exports: [EmailRenderer, MailTransport, TransactionalMailer, EditionComposer, SubscriberTokens],
})
export class MailModule {}
