import { smallestFile } from '../content/media-images.js';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import Handlebars from 'handlebars';
import { convert } from 'html-to-text';
import type mjml2htmlType from 'mjml';
import { type AppConfig, LOCALES } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { messagesFor } from '../i18n/messages.js';
import { TEMPLATE_OPTIONS } from '../lib/template-files.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { withoutIndentation } from './compact-html.js';

export const EMAIL_TEMPLATES = [
  'confirm',
  'welcome',
  'sign-in',
  'member-notice',
  'edition-teaser',
  'edition-full',
] as const;
export type EmailTemplate = (typeof EMAIL_TEMPLATES)[number];

export interface RenderedEmail {
  readonly html: string;
  readonly text: string;
}

/** Data every email template receives besides its own. */
export interface EmailData {
  readonly subject: string;
  /** Inbox preview text; must come from before any teaser cut. */
  readonly preheader?: string;
  readonly unsubscribeUrl?: string;
  readonly preferencesUrl?: string;
  readonly webVersionUrl?: string;
  readonly [key: string]: unknown;
}

interface MjmlProblem {
  readonly line: number;
  readonly message: string;
  readonly tagName: string;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/**
 * MJML hides the preview text as white 1px text, which spam filters score as text hidden in the
 * background's colour (SpamAssassin's HTML_FONT_LOW_CONTRAST); ours is only hidden.
 */
const MJML_PREVIEW_OPEN = /<div style="display:none;font-size:1px;[^"]*">/;
const PREVIEW_OPEN = '<div class="preheader" style="display:none;max-height:0;overflow:hidden;mso-hide:all">';
/** The hidden preview block: it belongs in the inbox list, not in the text part. */
const PREVIEW_BLOCK = /<div class="preheader"[^>]*>[\s\S]*?<\/div>/;

/**
 * Emails from templates/*.mjml: Handlebars fills the MJML, MJML compiles it (strict validation), and
 * html-to-text derives the text part from the same HTML. Every template is checked at boot.
 */
@Injectable()
export class EmailRenderer implements OnModuleInit {
  private readonly handlebars = Handlebars.create();
  private readonly templates = new Map<EmailTemplate, { file: string; fill: Handlebars.TemplateDelegate }>();
  /** Every template source and what renders them: the same fingerprint, the same verdict. */
  private readonly fingerprint = createHash('sha256');
  /** MJML is loaded on first use: half a second of every boot otherwise. */
  private mjml: Promise<typeof mjml2htmlType> | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
  ) {
    const mjmlVersion = (createRequire(import.meta.url)('mjml/package.json') as { version: string }).version;
    // Every locale's wording: a publication may change its locale on the desk at any time.
    const wordings = LOCALES.map((locale) => JSON.stringify(messagesFor(locale)));
    this.fingerprint.update(`mjml ${mjmlVersion}\0${wordings.join('\0')}\0`);
    this.handlebars.registerPartial(
      'email',
      this.read(path.join(this.config.templatesDir, 'layouts', 'email.mjml')),
    );
    const partials = path.join(this.config.templatesDir, 'partials');
    for (const file of readdirSync(partials).filter((f) => f.endsWith('.mjml'))) {
      this.handlebars.registerPartial(path.basename(file, '.mjml'), this.read(path.join(partials, file)));
    }
    for (const name of EMAIL_TEMPLATES) {
      const file = path.join(this.config.templatesDir, `${name}.mjml`);
      this.templates.set(name, { file, fill: this.handlebars.compile(this.read(file), TEMPLATE_OPTIONS) });
    }
  }

  private read(file: string): string {
    try {
      const source = readFileSync(file, 'utf8');
      this.handlebars.precompile(source);
      this.fingerprint.update(`${file}\0${source}\0`);
      return source;
    } catch (error) {
      throw new TemplateError(`${path.relative(process.cwd(), file)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * A broken template stops the boot, naming the file and the line. Templates that passed the check
   * as they are now (the fingerprint kept in DATA_DIR says so) are not checked again.
   */
  async onModuleInit(): Promise<void> {
    const stamp = path.join(this.config.dataDir, 'email-templates-checked');
    const fingerprint = this.fingerprint.digest('hex');
    try {
      if (readFileSync(stamp, 'utf8') === fingerprint) return;
    } catch {
      // never checked here
    }
    for (const name of EMAIL_TEMPLATES) {
      await this.render(name, {
        subject: 'Check',
        preheader: 'Check',
        unsubscribeUrl: 'https://example.invalid/u',
        preferencesUrl: 'https://example.invalid/p',
        webVersionUrl: 'https://example.invalid/w',
        confirmUrl: 'https://example.invalid/c',
        signInUrl: 'https://example.invalid/s',
        ttlMinutes: 15,
        text: 'Check',
        buttonUrl: 'https://example.invalid/b',
        buttonLabel: 'Check',
        premiumUrl: 'https://example.invalid/premium',
        name: 'Check',
        articles: [
          { title: 'Check', lede: 'Check', html: '<p>Check</p>', url: 'https://example.invalid/a', date: '' },
        ],
      });
    }
    mkdirSync(this.config.dataDir, { recursive: true });
    writeFileSync(`${stamp}.partial`, fingerprint);
    renameSync(`${stamp}.partial`, stamp);
  }

  /** MJML, loaded once. */
  private compiler(): Promise<typeof mjml2htmlType> {
    return (this.mjml ??= import('mjml').then((module) => module.default));
  }

  /** Loads MJML ahead of a send that is coming, so that its first message does not wait for it. */
  async preload(): Promise<void> {
    await this.compiler();
  }

  async render(name: EmailTemplate, data: EmailData): Promise<RenderedEmail> {
    const template = this.templates.get(name);
    if (!template) throw new TemplateError(`No email template ${name}`);
    const publication = this.publication.current();
    const mjml = template.fill({
      ...data,
      t: messagesFor(publication.locale),
      lang: publication.locale,
      site: {
        name: publication.name,
        url: this.config.publicUrl,
        postalAddress: publication.postalAddress,
        logo: publication.logo ? smallestFile(publication.logo) : undefined,
      },
    });
    // Strict validation throws with the list of problems; older releases returned them.
    const mjml2html = await this.compiler();
    const result = await mjml2html(mjml, { validationLevel: 'strict', filePath: template.file }).catch(
      (error: unknown) => {
        const errors = (error as { errors?: MjmlProblem[] }).errors;
        if (!errors) throw error;
        return { html: '', errors };
      },
    );
    if (result.errors.length > 0) {
      const source = readFileSync(template.file, 'utf8').split('\n');
      const where = result.errors.map(
        (p) => `${sourceLine(source, p.tagName, p.message) ?? `rendered line ${p.line}`}: ${p.message}`,
      );
      throw new TemplateError(`${path.relative(process.cwd(), template.file)}, ${where.join('; ')}`);
    }
    const html = withoutIndentation(result.html.replace(MJML_PREVIEW_OPEN, PREVIEW_OPEN));
    return { html, text: htmlToText(html) };
  }
}

/**
 * MJML counts lines in the filled document (layout included); the editor needs the line of the
 * template file, found from the tag and, when MJML names one, the attribute at fault.
 */
function sourceLine(source: readonly string[], tagName: string, message: string): string | undefined {
  const attribute = /Attribute (\S+)/.exec(message)?.[1];
  const index = source.findIndex(
    (line) => line.includes(`<${tagName}`) && (!attribute || line.includes(attribute)),
  );
  return index === -1 ? undefined : `line ${index + 1}`;
}

export function htmlToText(html: string): string {
  return convert(html.replace(PREVIEW_BLOCK, ''), {
    wordwrap: 78,
    selectors: [
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'h1', options: { uppercase: false } },
      { selector: 'h2', options: { uppercase: false } },
      { selector: 'table', format: 'block' },
      { selector: 'tr', format: 'block' },
      { selector: 'td', format: 'block' },
    ],
  }).trim();
}
