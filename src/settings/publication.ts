import { LOCALES, type PublicationEnvironment } from '../config/app-config.js';
import { normaliseEmail } from '../lib/email-address.js';
import { isSingleLine } from '../lib/single-line.js';
import { isValidTimeZone } from '../lib/time-zone.js';
import { addressOf, mediaImage, type MediaImage } from '../content/media-images.js';

/** A link of the blog's navigation: what it says, and where it goes (a path of the blog, or a URL). */
export interface NavigationLink {
  readonly label: string;
  readonly url: string;
}

/**
 * Who the publication is and how it speaks, as the desk last set it (the environment's values
 * until then): every page, feed and email reads it from here, never from the environment.
 */
export interface Publication extends PublicationEnvironment {
  /** The line under the name in the blog's header. */
  readonly tagline: string;
  /** The blog's accent colour, #rrggbb; undefined keeps the theme's own. */
  readonly accentColour: string | undefined;
  readonly navigation: readonly NavigationLink[];
  /** A line for the blog's footer. */
  readonly footer: string;
  /** An uploaded image (its /media address) shown beside the name on the blog and atop emails. */
  readonly logo: MediaImage | undefined;
  /** An uploaded image for the browser's tab; the theme's own icon without one. */
  readonly favicon: MediaImage | undefined;
  /** Who may comment: every signed-in member, premium members only, or nobody. */
  readonly comments: CommentsAccess;
  /** `pre`: a comment shows once an editor approves it; `post`: at once, an editor may hide it. */
  readonly commentModeration: CommentModeration;
  /** Comments close this many days after an article is published; 0 keeps them open. */
  readonly commentsCloseAfterDays: number;
}

export const COMMENTS_ACCESS = ['all', 'premium', 'off'] as const;
export type CommentsAccess = (typeof COMMENTS_ACCESS)[number];
export const COMMENT_MODERATION = ['pre', 'post'] as const;
export type CommentModeration = (typeof COMMENT_MODERATION)[number];

/** The publication's settings as the desk's form names them, each stored under `publication.<name>`. */
export const PUBLICATION_FIELDS = [
  'name',
  'tagline',
  'description',
  'accent_colour',
  'logo',
  'favicon',
  'navigation',
  'footer',
  'sender_name',
  'sender_address',
  'reply_to',
  'postal_address',
  'locale',
  'time_zone',
  'soft_bounce_limit',
  'event_retention_days',
  'comments',
  'comment_moderation',
  'comments_close_after_days',
] as const;
export type PublicationField = (typeof PUBLICATION_FIELDS)[number];
export type PublicationForm = Readonly<Record<PublicationField, string>>;

/** What is wrong with a field, for the desk to say in the publication's words. */
export type PublicationProblem =
  | 'required'
  | 'too-long'
  | 'one-line'
  | 'address'
  | 'colour'
  | 'navigation'
  | 'too-many-links'
  | 'locale'
  | 'time-zone'
  | 'number'
  | 'choice'
  | 'image'
  | 'dkim-domain';

export const PUBLICATION_LIMITS = {
  name: 120,
  tagline: 160,
  description: 500,
  footer: 300,
  sender_name: 120,
  postal_address: 300,
  navigationLinks: 8,
  navigationLabel: 40,
  navigationUrl: 500,
  softBounceLimit: { min: 1, max: 100 },
  eventRetentionDays: { min: 1, max: 3650 },
  commentsCloseAfterDays: { min: 0, max: 3650 },
} as const;

export function storageKey(field: PublicationField): `publication.${PublicationField}` {
  return `publication.${field}`;
}

/** The navigation as typed: one link a line, "Label | /path" or "Label | https://…". */
export function navigationText(links: readonly NavigationLink[]): string {
  return links.map((link) => `${link.label} | ${link.url}`).join('\n');
}

function parseNavigation(text: string): NavigationLink[] | PublicationProblem {
  const links: NavigationLink[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '') continue;
    const bar = line.lastIndexOf('|');
    if (bar === -1) return 'navigation';
    const label = line.slice(0, bar).trim();
    const url = line.slice(bar + 1).trim();
    if (label === '' || label.length > PUBLICATION_LIMITS.navigationLabel) return 'navigation';
    if (!isSingleLine(label) || !isNavigationUrl(url)) return 'navigation';
    links.push({ label, url });
  }
  if (links.length > PUBLICATION_LIMITS.navigationLinks) return 'too-many-links';
  return links;
}

/** A path of the blog ("/tags/europe", never "//host") or an http(s) URL: nothing a page could run. */
function isNavigationUrl(url: string): boolean {
  if (url.length === 0 || url.length > PUBLICATION_LIMITS.navigationUrl || /\s/.test(url)) return false;
  if (url.startsWith('/')) return !url.startsWith('//') && !url.includes('\\');
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.hostname !== '';
  } catch {
    return false;
  }
}

function wholeNumber(text: string, range: { min: number; max: number }): number | undefined {
  if (!/^\d{1,6}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= range.min && value <= range.max ? value : undefined;
}

/** The environment's publication: what the settings start from, and what a field left unset keeps. */
export function publicationDefaults(environment: PublicationEnvironment): Publication {
  return {
    ...environment,
    tagline: environment.description,
    accentColour: undefined,
    logo: undefined,
    favicon: undefined,
    navigation: [],
    footer: '',
    comments: 'all',
    commentModeration: 'pre',
    commentsCloseAfterDays: 0,
  };
}

/** The publication as a form shows it. */
export function publicationForm(publication: Publication): PublicationForm {
  return {
    name: publication.name,
    tagline: publication.tagline,
    description: publication.description,
    accent_colour: publication.accentColour ?? '',
    logo: publication.logo ? addressOf(publication.logo) : '',
    favicon: publication.favicon ? addressOf(publication.favicon) : '',
    navigation: navigationText(publication.navigation),
    footer: publication.footer,
    sender_name: publication.mailFrom.name,
    sender_address: publication.mailFrom.address,
    reply_to: publication.replyTo?.address ?? '',
    postal_address: publication.postalAddress,
    locale: publication.locale,
    time_zone: publication.timeZone,
    soft_bounce_limit: String(publication.softBounceLimit),
    event_retention_days: String(publication.eventRetentionDays),
    comments: publication.comments,
    comment_moderation: publication.commentModeration,
    comments_close_after_days: String(publication.commentsCloseAfterDays),
  };
}

export type PublicationCheck =
  | { readonly publication: Publication }
  | { readonly problems: Partial<Record<PublicationField, PublicationProblem>> };

/**
 * Reads a whole form (as typed on the desk, or as stored) into a publication, or says what is
 * wrong field by field. The one place that decides what a publication setting may be.
 */
export function checkPublication(form: PublicationForm): PublicationCheck {
  const problems: Partial<Record<PublicationField, PublicationProblem>> = {};
  const text = (
    field: PublicationField,
    max: number,
    options: { required?: boolean; lines?: boolean } = {},
  ) => {
    const value = form[field].replace(/\r\n?/g, '\n').trim();
    if (options.required && value === '') problems[field] = 'required';
    else if (value.length > max) problems[field] = 'too-long';
    else if (!(options.lines ? value.split('\n').every(isSingleLine) : isSingleLine(value)))
      problems[field] = 'one-line';
    return value;
  };
  const address = (field: PublicationField, required: boolean): string | undefined => {
    const raw = form[field].trim();
    if (raw === '') {
      if (required) problems[field] = 'required';
      return undefined;
    }
    const checked = normaliseEmail(raw);
    if (!checked.ok) problems[field] = 'address';
    return checked.ok ? checked.email : undefined;
  };

  const name = text('name', PUBLICATION_LIMITS.name, { required: true });
  const tagline = text('tagline', PUBLICATION_LIMITS.tagline);
  const description = text('description', PUBLICATION_LIMITS.description);
  const footer = text('footer', PUBLICATION_LIMITS.footer);
  const senderName = text('sender_name', PUBLICATION_LIMITS.sender_name);
  const postalAddress = text('postal_address', PUBLICATION_LIMITS.postal_address, { lines: true });
  const senderAddress = address('sender_address', true);
  const replyTo = address('reply_to', false);
  const accent = form.accent_colour.trim().toLowerCase();
  if (accent !== '' && !/^#[0-9a-f]{6}$/.test(accent)) problems.accent_colour = 'colour';
  const image = (field: PublicationField): MediaImage | undefined => {
    const address = form[field].trim();
    if (address === '') return undefined;
    const found = mediaImage(address);
    if (!found) problems[field] = 'image';
    return found;
  };
  const logo = image('logo');
  const favicon = image('favicon');
  const navigation = parseNavigation(form.navigation.replace(/\r\n?/g, '\n'));
  if (typeof navigation === 'string') problems.navigation = navigation;
  const locale = LOCALES.find((known) => known === form.locale.trim());
  if (!locale) problems.locale = 'locale';
  const timeZone = form.time_zone.trim();
  if (!isValidTimeZone(timeZone) || timeZone === '') problems.time_zone = 'time-zone';
  const softBounceLimit = wholeNumber(form.soft_bounce_limit.trim(), PUBLICATION_LIMITS.softBounceLimit);
  if (softBounceLimit === undefined) problems.soft_bounce_limit = 'number';
  const eventRetentionDays = wholeNumber(
    form.event_retention_days.trim(),
    PUBLICATION_LIMITS.eventRetentionDays,
  );
  if (eventRetentionDays === undefined) problems.event_retention_days = 'number';
  const comments = COMMENTS_ACCESS.find((known) => known === form.comments.trim());
  if (!comments) problems.comments = 'choice';
  const commentModeration = COMMENT_MODERATION.find((known) => known === form.comment_moderation.trim());
  if (!commentModeration) problems.comment_moderation = 'choice';
  const commentsCloseAfterDays = wholeNumber(
    form.comments_close_after_days.trim(),
    PUBLICATION_LIMITS.commentsCloseAfterDays,
  );
  if (commentsCloseAfterDays === undefined) problems.comments_close_after_days = 'number';

  if (
    Object.keys(problems).length > 0 ||
    senderAddress === undefined ||
    typeof navigation === 'string' ||
    locale === undefined ||
    softBounceLimit === undefined ||
    eventRetentionDays === undefined ||
    comments === undefined ||
    commentModeration === undefined ||
    commentsCloseAfterDays === undefined
  )
    return { problems };
  return {
    publication: {
      name,
      tagline,
      description,
      accentColour: accent === '' ? undefined : accent,
      logo,
      favicon,
      navigation,
      footer,
      mailFrom: { name: senderName, address: senderAddress },
      replyTo: replyTo === undefined ? undefined : { name: senderName, address: replyTo },
      postalAddress,
      locale,
      timeZone,
      softBounceLimit,
      eventRetentionDays,
      comments,
      commentModeration,
      commentsCloseAfterDays,
    },
  };
}
