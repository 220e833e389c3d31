import { load } from 'cheerio';
import type { Response as InjectResponse } from 'light-my-request';
import type { TestApp } from './test-app.js';

export const OWNER = {
  email: 'redaction@exemple.fr',
  name: 'Hélène Rédaction',
  password: 'correct horse battery',
};

/** Cookies a browser would keep, from Set-Cookie headers: name -> value (a cleared one goes). */
export class CookieJar {
  readonly values = new Map<string, string>();

  take(response: InjectResponse): this {
    for (const cookie of response.cookies as {
      name: string;
      value: string;
      maxAge?: number;
      expires?: Date;
    }[]) {
      const cleared =
        cookie.value === '' || (cookie.expires !== undefined && cookie.expires.getTime() < Date.now());
      if (cleared) this.values.delete(cookie.name);
      else this.values.set(cookie.name, cookie.value);
    }
    return this;
  }

  header(): string {
    return [...this.values].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** The value of the hidden _csrf field of the first form on a page. */
export function csrfOf(html: string): string {
  return load(html)('input[name="_csrf"]').first().attr('value') ?? '';
}

export function form(fields: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, one);
  }
  return params.toString();
}

/** A browser-like client of the desk: keeps cookies, posts forms. */
export class DeskClient {
  readonly jar = new CookieJar();

  constructor(private readonly t: TestApp) {}

  async get(url: string, headers: Record<string, string> = {}): Promise<InjectResponse> {
    const response = await this.t.request({
      method: 'GET',
      url,
      headers: { cookie: this.jar.header(), accept: 'text/html', ...headers },
    });
    this.jar.take(response);
    return response;
  }

  async post(
    url: string,
    fields: Record<string, string | string[]>,
    headers: Record<string, string> = {},
  ): Promise<InjectResponse> {
    const response = await this.t.request({
      method: 'POST',
      url,
      payload: form(fields),
      headers: {
        cookie: this.jar.header(),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'text/html',
        ...headers,
      },
    });
    this.jar.take(response);
    return response;
  }

  /** Fetches a page and posts its form's CSRF token along with the fields. */
  async submit(
    pageUrl: string,
    actionUrl: string,
    fields: Record<string, string | string[]>,
  ): Promise<InjectResponse> {
    const page = await this.get(pageUrl);
    return this.post(actionUrl, { _csrf: csrfOf(page.body), ...fields });
  }

  async setUp(owner = OWNER): Promise<InjectResponse> {
    return this.submit('/admin/setup', '/admin/setup', {
      email: owner.email,
      name: owner.name,
      password: owner.password,
      password_again: owner.password,
    });
  }

  async signIn(email = OWNER.email, password = OWNER.password): Promise<InjectResponse> {
    return this.submit('/admin/sign-in', '/admin/sign-in', { email, password, next: '/admin' });
  }
}

/** Everything the form sends, as the desk shows it for this publication, with some fields changed. */
export async function settingsForm(
  desk: DeskClient,
  changes: Record<string, string>,
): Promise<Record<string, string>> {
  const page = load((await desk.get('/admin/settings')).body);
  const fields: Record<string, string> = {};
  page('form[action="/admin/settings"] [name]').each((_, element) => {
    const field = page(element);
    const name = field.attr('name') ?? '';
    fields[name] =
      element.tagName === 'textarea'
        ? field.text()
        : element.tagName === 'select'
          ? (field.find('option[selected]').attr('value') ?? '')
          : (field.attr('value') ?? '');
  });
  return { ...fields, ...changes };
}
