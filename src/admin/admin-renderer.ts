import { createRequire } from 'node:module';
import path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import Handlebars from 'handlebars';
import type { AppConfig, Locale } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { Publication } from '../settings/publication.js';
import { PublicationSettings } from '../settings/publication-settings.js';
import { type AdminMessages, adminMessagesFor, fill } from '../i18n/admin-messages.js';
import {
  compileTemplateFile,
  registerPartialsFrom,
  type VersionedAsset,
  versionedAsset,
} from '../lib/template-files.js';
import { CommentsService } from '../comments/comments.service.js';
import type { DeskContext } from './desk-context.js';
import { deskProblem } from './desk-form-errors.js';
import { shownStatus } from './edition-views.js';
import type { EditionRow } from '../database/schema.js';
import { sendHtml } from './desk-http.js';
import { type FieldProblem, InvalidInputException } from '../http/api-error.js';

export const ADMIN_PAGES = [
  'sign-in',
  'setup',
  'desk-link',
  'dashboard',
  'articles',
  'article-form',
  'editions',
  'edition-new',
  'edition',
  'subscribers',
  'subscriber',
  'tokens',
  'team',
  'payments',
  'settings',
  'comments',
  'account',
  'error',
] as const;
export type AdminPage = (typeof ADMIN_PAGES)[number];

/** Fragments htmx swaps into a page: each is also a partial that the pages include. */
export const ADMIN_FRAGMENTS = [
  'article-preview',
  'edition-progress',
  'import-report',
  'article-import-report',
] as const;
export type AdminFragment = (typeof ADMIN_FRAGMENTS)[number];

export type AdminSection =
  | 'dashboard'
  | 'articles'
  | 'editions'
  | 'subscribers'
  | 'payments'
  | 'settings'
  | 'comments'
  | 'tokens'
  | 'team'
  | 'account';

/** Who is signed in, as the layout shows them; absent on the sign-in and setup pages. */
export interface DeskViewer {
  readonly name: string;
  readonly email: string;
  readonly csrf: string;
  /** Comments waiting for an editor's approval: the menu says how many. */
  readonly pendingComments: number;
}

/** What the layout around every desk page needs. */
export interface AdminView {
  readonly title: string;
  readonly section?: AdminSection;
  /** The signed-in editor, absent on the sign-in and setup pages. */
  readonly desk?: DeskContext;
  /** A one-line notice at the top of the page (saved, signed out…). */
  readonly notice?: string;
}

/** The desk's static files: its own under templates/assets, and htmx from its package. */
const ASSETS = {
  'admin.css': (templatesDir: string) => path.join(templatesDir, 'assets', 'admin.css'),
  'admin.js': (templatesDir: string) => path.join(templatesDir, 'assets', 'admin.js'),
  'favicon.svg': (templatesDir: string) => path.join(templatesDir, 'assets', 'favicon.svg'),
  'htmx.min.js': () => createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'),
} as const;
export type AdminAsset = keyof typeof ASSETS;

/**
 * Renders the editor's desk from templates/admin/*.hbs inside templates/layouts/admin.hbs, in the
 * publication's locale. Compiled at boot like the public pages.
 */
interface DeskWords {
  readonly locale: Locale;
  readonly t: AdminMessages;
  readonly dateTime: Intl.DateTimeFormat;
  readonly day: Intl.DateTimeFormat;
  readonly calendarDay: Intl.DateTimeFormat;
  readonly calendarMonth: Intl.DateTimeFormat;
}

function deskWords({ locale, timeZone }: Publication): DeskWords {
  return {
    locale,
    t: adminMessagesFor(locale),
    dateTime: new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }),
    day: new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone }),
    // A calendar day (YYYY-MM-DD) is already in the publication's zone: format it as is.
    calendarDay: new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' }),
    calendarMonth: new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' }),
  };
}

@Injectable()
export class AdminRenderer {
  private readonly handlebars = Handlebars.create();
  private readonly layout: Handlebars.TemplateDelegate;
  private readonly pages: ReadonlyMap<AdminPage, Handlebars.TemplateDelegate>;
  private readonly fragments: ReadonlyMap<AdminFragment, Handlebars.TemplateDelegate>;
  readonly assets: ReadonlyMap<string, VersionedAsset>;
  /** The wording and formats of the publication's locale and time zone, remade when they change. */
  private readonly words: () => DeskWords;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PublicationSettings) private readonly publication: PublicationSettings,
    @Inject(CommentsService) private readonly comments: CommentsService,
  ) {
    this.words = publication.derive(deskWords);
    const dir = path.join(config.templatesDir, 'admin');
    this.handlebars.registerHelper('dateTime', (value: unknown) =>
      value instanceof Date ? this.words().dateTime.format(value) : '',
    );
    this.handlebars.registerHelper('day', (value: unknown) =>
      value instanceof Date ? this.words().day.format(value) : '',
    );
    // The wording for one value of an enumeration: (label "status" row.status) reads t.status_sent.
    this.handlebars.registerHelper('label', (kind: unknown, value: unknown) => {
      const t = this.t as Readonly<Record<string, string>>;
      return t[`${String(kind)}_${String(value)}`] ?? String(value);
    });
    this.handlebars.registerHelper('editionStatus', (edition: unknown) =>
      shownStatus(edition as Pick<EditionRow, 'status' | 'scheduledAt'>),
    );
    this.handlebars.registerHelper('fill', (message: unknown, options: Handlebars.HelperOptions) =>
      fill(String(message), options.hash as Record<string, string | number>),
    );
    this.handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    // A refusal (a form's field, an import's line) in the publication's words.
    this.handlebars.registerHelper('problem', (problem: unknown) =>
      deskProblem(problem as Partial<FieldProblem>, this.t),
    );
    this.handlebars.registerHelper('number', (value: unknown) =>
      typeof value === 'number' ? value.toLocaleString(this.words().locale) : '',
    );
    registerPartialsFrom(this.handlebars, path.join(dir, 'partials'));
    this.layout = compileTemplateFile(
      this.handlebars,
      path.join(config.templatesDir, 'layouts', 'admin.hbs'),
    );
    this.pages = new Map(
      ADMIN_PAGES.map((name) => [name, compileTemplateFile(this.handlebars, path.join(dir, `${name}.hbs`))]),
    );
    // Fragments are partials already compiled above: use those rather than compile them again.
    this.fragments = new Map(
      ADMIN_FRAGMENTS.map((name) => {
        const partial: unknown = this.handlebars.partials[name];
        if (typeof partial !== 'function') throw new Error(`Template admin/partials/${name}.hbs is missing`);
        return [name, partial as Handlebars.TemplateDelegate];
      }),
    );
    this.assets = new Map(
      Object.entries(ASSETS).map(([name, file]) => [
        name as AdminAsset,
        versionedAsset(file(config.templatesDir), `/admin/assets/${name}`),
      ]),
    );
  }

  /** The desk's wording in the publication's locale, as it stands. */
  get t(): AdminMessages {
    return this.words().t;
  }

  get locale(): Locale {
    return this.words().locale;
  }

  /** "3 mars" for 2026-03-03. */
  shortDay(isoDay: string): string {
    return this.words().calendarDay.format(new Date(`${isoDay}T00:00:00Z`));
  }

  /** "nov. 2026" from 2026-11. */
  shortMonth(isoMonth: string): string {
    return this.words().calendarMonth.format(new Date(`${isoMonth}-01T00:00:00Z`));
  }

  private context(data: object): object {
    const publication = this.publication.current();
    return {
      ...data,
      t: this.t,
      site: {
        name: publication.name,
        url: this.config.publicUrl,
        lang: publication.locale,
        timezone: publication.timeZone,
        css: this.assets.get('admin.css')?.url,
        js: this.assets.get('admin.js')?.url,
        htmx: this.assets.get('htmx.min.js')?.url,
        icon: this.assets.get('favicon.svg')?.url,
      },
    };
  }

  /** Answers with a whole desk page: the page's template inside the layout, never cached. */
  async send(
    reply: FastifyReply,
    name: AdminPage,
    view: AdminView,
    data: object = {},
    status = 200,
  ): Promise<void> {
    // Asked only for a signed-in editor; an error page made while the database is away still shows.
    const pendingComments = view.desk ? await this.comments.pendingCount().catch(() => 0) : 0;
    await sendHtml(reply, this.page(name, view, data, pendingComments), status);
  }

  /**
   * An import's report as a fragment; a file refused whole (a wrong header, no feed) imports
   * nothing, and the fragment says why where the report would go.
   */
  async sendReport(
    reply: FastifyReply,
    name: AdminFragment,
    importing: () => Promise<object>,
  ): Promise<void> {
    try {
      await this.sendFragment(reply, name, { report: await importing() });
    } catch (error) {
      if (!(error instanceof InvalidInputException)) throw error;
      const [problem] = error.problems;
      const failure = problem ? deskProblem(problem, this.t) : this.t.problem_invalid;
      await this.sendFragment(reply, name, { failure }, 400);
    }
  }

  /** Answers with a fragment that htmx swaps into the page. */
  async sendFragment(reply: FastifyReply, name: AdminFragment, data: object, status = 200): Promise<void> {
    const fragment = this.fragments.get(name);
    if (!fragment) throw new Error(`No admin fragment ${name}`);
    await sendHtml(reply, fragment(this.context(data)), status);
  }

  private page(name: AdminPage, { desk, ...view }: AdminView, data: object, pendingComments: number): string {
    const page = this.pages.get(name);
    if (!page) throw new Error(`No admin page ${name}`);
    const viewer: DeskViewer | undefined = desk && {
      name: desk.editor.name || desk.editor.email,
      email: desk.editor.email,
      csrf: desk.session.csrf,
      pendingComments,
    };
    const context = this.context({ ...data, view: { ...view, viewer } });
    return this.layout({ ...context, body: new Handlebars.SafeString(page(context)) });
  }
}
