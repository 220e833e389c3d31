import { smallestFile } from '../content/media-images.js';
import path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import Handlebars from 'handlebars';
import type { AppConfig, Locale } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { longDateFormat } from '../i18n/dates.js';
import { fill, type Messages, messagesFor, OG_LOCALE } from '../i18n/messages.js';
import { compileTemplateFile, registerPartialsFrom, versionedAsset } from '../lib/template-files.js';
import { PublicationSettings } from '../settings/publication-settings.js';

export const PAGE_TEMPLATES = [
  'home',
  'article',
  'tag',
  'error',
  'message',
  'preferences',
  'sign-in',
  'account',
  'upgrade',
  'search',
  'archives',
  'newsletter',
  'feed',
] as const;
export type PageTemplate = (typeof PAGE_TEMPLATES)[number];

/** Parts of a page rendered on their own (see ArticlePages): no layout around them. */
export const FRAGMENT_TEMPLATES = ['article-comments'] as const;
export type FragmentTemplate = (typeof FRAGMENT_TEMPLATES)[number];

/** What the layout needs about the page beyond its own template's data. */
export interface PageHead {
  readonly title: string;
  readonly description: string;
  /** Absolute canonical URL. */
  readonly canonical: string;
  readonly ogType: 'website' | 'article';
  readonly publishedTime?: string;
  readonly tags?: readonly string[];
  readonly jsonLd?: object;
  readonly noindex?: boolean;
}

/** What the layout adds to a page's data: the wording, the site, the head, the body. */
type LayoutName = 't' | 'site' | 'head' | 'body';

/** A page's own data, which cannot name what the layout adds. */
export type PageData<Data extends object> = Data & { readonly [Name in keyof Data & LayoutName]: never };

/** JSON inside <script> must not be able to close the element. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/**
 * Renders the public pages from templates/*.hbs inside templates/layouts/blog.hbs. Templates are
 * compiled once at boot; a broken one stops the boot with its file name.
 */
@Injectable()
export class PageRenderer {
  private readonly handlebars = Handlebars.create();
  private readonly layout: Handlebars.TemplateDelegate;
  private readonly pages: ReadonlyMap<PageTemplate | FragmentTemplate, Handlebars.TemplateDelegate>;
  /** The wording and the date format of the publication's locale and time zone. */
  private readonly words: () => {
    readonly t: Messages;
    readonly dates: Intl.DateTimeFormat;
    readonly months: Intl.DateTimeFormat;
  };
  readonly stylesheet: string;
  readonly stylesheetPath: string;
  readonly icon: string;
  readonly iconPath: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
  ) {
    this.words = publication.derive((current) => ({
      t: messagesFor(current.locale),
      dates: longDateFormat(current.locale, current.timeZone),
      // A month (YYYY-MM) is already the publication's: formatted as it is.
      months: new Intl.DateTimeFormat(current.locale, { month: 'long', year: 'numeric', timeZone: 'UTC' }),
    }));
    this.handlebars.registerHelper(
      'json',
      (value: unknown) => new Handlebars.SafeString(scriptSafeJson(value)),
    );
    this.handlebars.registerHelper('fill', (message: unknown, options: Handlebars.HelperOptions) =>
      fill(String(message), options.hash as Record<string, string | number>),
    );
    this.handlebars.registerHelper('month', (value: unknown) => this.monthName(String(value)));
    this.handlebars.registerHelper('or', (...values: unknown[]) => values.slice(0, -1).some(Boolean));
    this.handlebars.registerHelper('and', (...values: unknown[]) => values.slice(0, -1).every(Boolean));
    this.handlebars.registerHelper('not', (value: unknown) => !value);
    // A count of zero is still a count to show.
    this.handlebars.registerHelper('defined', (value: unknown) => value !== undefined);
    this.handlebars.registerHelper('date', (value: unknown) =>
      value instanceof Date ? this.words().dates.format(value) : '',
    );
    this.handlebars.registerHelper('isoDate', (value: unknown) =>
      value instanceof Date ? value.toISOString() : '',
    );

    registerPartialsFrom(this.handlebars, path.join(this.config.templatesDir, 'partials'));
    this.layout = compileTemplateFile(
      this.handlebars,
      path.join(this.config.templatesDir, 'layouts', 'blog.hbs'),
    );
    this.pages = new Map(
      [...PAGE_TEMPLATES, ...FRAGMENT_TEMPLATES].map((name) => [
        name,
        compileTemplateFile(this.handlebars, path.join(this.config.templatesDir, `${name}.hbs`)),
      ]),
    );
    const stylesheet = versionedAsset(
      path.join(this.config.templatesDir, 'assets', 'blog.css'),
      '/assets/blog.css',
    );
    this.stylesheet = stylesheet.body;
    this.stylesheetPath = stylesheet.url;
    const icon = versionedAsset(
      path.join(this.config.templatesDir, 'assets', 'favicon.svg'),
      '/assets/favicon.svg',
    );
    this.icon = icon.body;
    this.iconPath = icon.url;
  }

  /** The wording of the publication's locale, as it stands. */
  get t(): Messages {
    return this.words().t;
  }

  /** "novembre 2026" for 2026-11. */
  monthName(month: string): string {
    return this.words().months.format(new Date(`${month}-01T00:00:00Z`));
  }

  get locale(): Locale {
    return this.publication.current().locale;
  }

  /**
   * A page made for one reader (a form's answer, sign-in, account, upgrade): titled by its heading,
   * never indexed.
   */
  readerPage<Data extends object>(
    name: PageTemplate,
    heading: string,
    data: PageData<Data>,
    path = '/',
  ): string {
    return this.render(
      name,
      {
        title: `${heading} — ${this.publication.current().name}`,
        description: heading,
        canonical: `${this.config.publicUrl}${path}`,
        ogType: 'website',
        noindex: true,
      },
      data,
    );
  }

  /** A part of a page, in the publication's wording. */
  fragment<Data extends object>(name: FragmentTemplate, data: PageData<Data>): string {
    return this.template(name)({ t: this.words().t, ...data });
  }

  private template(name: PageTemplate | FragmentTemplate): Handlebars.TemplateDelegate {
    const template = this.pages.get(name);
    if (!template) throw new Error(`No template ${name}`);
    return template;
  }

  render<Data extends object>(name: PageTemplate, head: PageHead, data: PageData<Data>): string {
    const page = this.template(name);
    const publication = this.publication.current();
    // The page's data spread last, so that it costs one copy (see ArticlePages.commentsView): it
    // cannot name what the layout adds (PageData).
    const context = {
      t: this.words().t,
      site: {
        name: publication.name,
        tagline: publication.tagline,
        description: publication.description,
        // Checked as #rrggbb when saved: nothing else can reach the style element.
        accentStyle: publication.accentColour ? `:root{--accent:${publication.accentColour}}` : undefined,
        navigation: publication.navigation.map((link) => ({
          label: link.label,
          url: link.url.startsWith('/') ? `${this.config.publicUrl}${link.url}` : link.url,
        })),
        footer: publication.footer,
        url: this.config.publicUrl,
        lang: publication.locale,
        ogLocale: OG_LOCALE[publication.locale],
        stylesheet: this.stylesheetPath,
        icon: publication.favicon ? smallestFile(publication.favicon) : this.iconPath,
        iconType: publication.favicon
          ? publication.favicon.ext === 'png'
            ? 'image/png'
            : 'image/jpeg'
          : 'image/svg+xml',
        logo: publication.logo ? smallestFile(publication.logo) : undefined,
      },
      head,
      ...data,
    };
    return this.layout({ body: new Handlebars.SafeString(page(context)), ...context });
  }
}
