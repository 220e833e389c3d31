import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { signsFor } from '../lib/domain-alignment.js';
import {
  checkPublication,
  type PublicationCheck,
  PUBLICATION_FIELDS,
  type Publication,
  type PublicationForm,
  publicationDefaults,
  publicationForm,
  storageKey,
} from './publication.js';
import { SettingsRepository } from './settings.repository.js';

/** How often each process looks for settings another process saved: "within seconds". */
export const PUBLICATION_REFRESH_MS = 2_000;

/**
 * The publication as it stands, for every process: read at boot, saved from the desk, and read
 * again every PUBLICATION_REFRESH_MS so that an API or worker process that did not take the change
 * follows it within seconds, without a restart. Pages and emails ask `current()`, a value in memory;
 * what they derive from it (date formats, wordings) they keep with `derive`, remade on a change.
 */
@Injectable()
export class PublicationSettings implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Settings');
  private readonly defaults: Publication;
  /** The domain DKIM signs for (the environment's): the sender must be of it. */
  readonly signingDomain: string | undefined;
  private snapshot: Publication;
  /** The stored rows as last read: a change to any of them is a new publication. */
  private stored = '';
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly listeners: ((publication: Publication) => void)[] = [];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(SettingsRepository) private readonly settings: SettingsRepository,
  ) {
    this.defaults = publicationDefaults(config.publication);
    this.signingDomain = config.dkim?.domainName;
    this.snapshot = this.defaults;
  }

  async onModuleInit(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      void this.refresh().then(
        () => {
          if (this.failing) this.logger.log('Settings are read again');
          this.failing = false;
        },
        (error: unknown) => {
          // Said once per outage; the last settings read stay in force meanwhile.
          if (!this.failing) this.logger.warn(`Settings could not be read: ${(error as Error).message}`);
          this.failing = true;
        },
      );
    }, PUBLICATION_REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  current(): Publication {
    return this.snapshot;
  }

  /** The environment's values, which a publication starts from. */
  initial(): Publication {
    return this.defaults;
  }

  /** A value made from the publication (a date format, a wording), made again only when it changes. */
  derive<T>(make: (publication: Publication) => T): () => T {
    let madeFrom: Publication | undefined;
    let value: T;
    return () => {
      const publication = this.snapshot;
      if (publication !== madeFrom) {
        value = make(publication);
        madeFrom = publication;
      }
      return value;
    };
  }

  /** Called with the new publication whenever it changes (to empty a cache of pages, say). */
  onChange(listener: (publication: Publication) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Checks a whole form and, when it holds, stores it and takes it at once in this process. With
   * DKIM on, a sender of another domain is refused: receivers would read the signature as someone
   * else's and DMARC would fail every message.
   */
  async save(form: PublicationForm): Promise<PublicationCheck> {
    const checked = checkPublication(form);
    if ('problems' in checked) return checked;
    if (!this.signsForSender(checked.publication)) return { problems: { sender_address: 'dkim-domain' } };
    const clean = publicationForm(checked.publication);
    await this.settings.set(
      Object.fromEntries(PUBLICATION_FIELDS.map((field) => [storageKey(field), clean[field]])),
    );
    await this.refresh();
    return checked;
  }

  /** Whether DKIM, when on, signs for the publication's sender; the first-run checklist asks too. */
  signsForSender(publication: Publication = this.snapshot): boolean {
    return this.signingDomain === undefined || signsFor(this.signingDomain, publication.mailFrom.address);
  }

  private async refresh(): Promise<void> {
    const stored = await this.settings.get(PUBLICATION_FIELDS.map(storageKey));
    const fingerprint = JSON.stringify(PUBLICATION_FIELDS.map((field) => stored[storageKey(field)] ?? null));
    if (fingerprint === this.stored) return;
    this.stored = fingerprint;
    const next = this.read(stored);
    if (next === this.snapshot) return;
    this.snapshot = next;
    for (const listener of this.listeners) listener(next);
  }

  /** The environment's publication with what the desk stored over it. */
  private read(stored: Partial<Record<string, string>>): Publication {
    if (PUBLICATION_FIELDS.every((field) => stored[storageKey(field)] === undefined)) return this.defaults;
    const form = publicationForm(this.defaults);
    const merged = Object.fromEntries(
      PUBLICATION_FIELDS.map((field) => [field, stored[storageKey(field)] ?? form[field]]),
    ) as PublicationForm;
    const checked = checkPublication(merged);
    if ('publication' in checked) return checked.publication;
    // Saved settings were checked when saved; only a change of rules could make them fail now.
    this.logger.warn(
      `Stored settings no longer hold (${Object.keys(checked.problems).join(', ')}): using the environment's`,
    );
    return this.defaults;
  }
}
