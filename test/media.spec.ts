import { existsSync } from 'node:fs';
import path from 'node:path';
import { load } from 'cheerio';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf, DeskClient } from './helpers/desk.js';
import { startTestApp, TEST_TOKEN, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let desk: DeskClient;
let csrf: string;

/** A photo as a phone takes it: 2000 × 1200 pixels stored on its side, with EXIF saying so. */
async function photo(): Promise<Buffer> {
  return sharp({ create: { width: 2000, height: 1200, channels: 3, background: '#4a7fb0' } })
    .composite([
      {
        input: await sharp({ create: { width: 200, height: 200, channels: 3, background: '#c0392b' } })
          .png()
          .toBuffer(),
        top: 0,
        left: 0,
      },
    ])
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Copyright: 'Photographe', Make: 'Téléphone' } })
    .jpeg()
    .toBuffer();
}

function upload(body: Buffer | string, alt: string | undefined, type = 'image/jpeg', token = csrf) {
  return t.request({
    method: 'POST',
    url: `/admin/media${alt === undefined ? '' : `?alt=${encodeURIComponent(alt)}`}`,
    headers: { cookie: desk.jar.header(), 'content-type': type, 'x-csrf-token': token, accept: 'text/html' },
    payload: body,
  });
}

beforeAll(async () => {
  t = await startTestApp();
  desk = new DeskClient(t);
  await desk.setUp();
  csrf = csrfOf((await desk.get('/admin/articles/new')).body);
});
afterAll(async () => {
  await t.close();
});

describe('images in articles', () => {
  let markdown = '';
  let address = '';

  it('stores an upload upright, at each width, in its format and WebP, without its metadata', async () => {
    const uploaded = await upload(await photo(), 'Les ruines de l’église Saint-Élian');
    expect(uploaded.statusCode).toBe(201);
    ({ markdown, address } = uploaded.json<{ markdown: string; address: string }>());
    expect(address).toMatch(/^https:\/\/blog\.example\.test\/media\/[0-9a-f]{16}\/1200x2000\.jpg$/);
    expect(markdown).toBe(`![Les ruines de l’église Saint-Élian](${address})`);
    const base = address.replace('https://blog.example.test', '').replace(/\/[^/]+$/, '');
    for (const [file, width, format] of [
      ['480.jpg', 480, 'jpeg'],
      ['960.webp', 960, 'webp'],
      ['1200.jpg', 1200, 'jpeg'],
      ['1200x2000.jpg', 1200, 'jpeg'],
    ] as const) {
      const served = await t.request({ method: 'GET', url: `${base}/${file}` });
      expect(served.statusCode).toBe(200);
      expect(served.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const meta = await sharp(served.rawPayload).metadata();
      expect({ width: meta.width, format: meta.format }).toEqual({ width, format });
      expect(meta.height).toBe(Math.round((2000 * width) / 1200));
      expect(meta.exif).toBeUndefined();
    }
    expect((await t.request({ method: 'GET', url: `${base}/1600.jpg` })).statusCode).toBe(404);
    expect((await t.request({ method: 'GET', url: `${base}/..%2F..%2Fsecret` })).statusCode).toBe(404);
    expect(existsSync(path.join(t.config.dataDir, 'media', base.split('/').pop() ?? '', '480.webp'))).toBe(
      true,
    );
    // The same photo again is the same image.
    expect((await upload(await photo(), 'Encore')).json<{ address: string }>().address).toBe(address);
  });

  it('refuses an image without a description, a file that is no image, and a forged form', async () => {
    const noAlt = await upload(await photo(), undefined);
    expect(noAlt.statusCode).toBe(400);
    expect(load(noAlt.body)('.alert').text()).toContain('obligatoire');
    const text = await upload('ceci n’est pas une image', 'Texte', 'image/png');
    expect(text.statusCode).toBe(400);
    expect(load(text.body)('.alert').text()).toContain('n’est pas une image');
    expect((await upload('x', 'Texte', 'application/octet-stream')).statusCode).toBe(415);
    expect((await upload(await photo(), 'Sans jeton', 'image/jpeg', 'faux')).statusCode).toBe(403);
    expect((await upload(Buffer.alloc(16 * 1024 ** 2), 'Trop lourde')).statusCode).toBe(413);
  });

  it('shows the image at the width each screen needs, and never wider than an email', async () => {
    const created = await t.api('POST', '/api/articles', {
      title: 'Qaryatayn en images',
      body_md: `Avant la photo.\n\n${markdown}\n\nAprès la photo.`,
      access: 'public',
    });
    expect(created.statusCode).toBe(201);
    await t.api('POST', `/api/articles/${created.json().id}/publish`);
    const page = load((await t.request({ method: 'GET', url: '/articles/qaryatayn-en-images' })).body);
    const img = page('.body picture img');
    expect(img.attr('alt')).toBe('Les ruines de l’église Saint-Élian');
    expect(img.attr('width')).toBe('960');
    expect(img.attr('height')).toBe('1600');
    expect(img.attr('srcset')).toContain('/480.jpg 480w');
    expect(img.attr('srcset')).toContain('/1200.jpg 1200w');
    expect(page('.body picture source[type="image/webp"]').attr('srcset')).toContain('/960.webp 960w');

    const edition = await t.api('POST', '/api/editions', {
      subject: 'En images',
      article_ids: [created.json().id],
    });
    const email = await t.api('GET', `/api/editions/${edition.json().id}/preview?tier=premium`);
    const emailImg = load(email.body)('img[alt="Les ruines de l’église Saint-Élian"]');
    expect(emailImg.attr('width')).toBe('552');
    // Its proportions kept: scaled with the width, or left to the client (`auto`, as the CSS inliner writes it).
    expect(['920', 'auto']).toContain(emailImg.attr('height'));
    expect(emailImg.attr('src')).toMatch(/^https:\/\/blog\.example\.test\/media\//);
  });

  it('takes the same upload through the editor API, with a token that may write', async () => {
    const uploaded = await t.request({
      method: 'POST',
      url: `/api/media?alt=${encodeURIComponent('Le même monastère')}`,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'image/jpeg' },
      payload: await photo(),
    });
    expect(uploaded.statusCode).toBe(201);
    expect(uploaded.json<{ address: string }>().address).toBe(address);
    const anonymous = await t.request({
      method: 'POST',
      url: '/api/media?alt=x',
      headers: { 'content-type': 'image/jpeg' },
      payload: await photo(),
    });
    expect(anonymous.statusCode).toBe(401);
    const noAlt = await t.request({
      method: 'POST',
      url: '/api/media',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'image/jpeg' },
      payload: await photo(),
    });
    expect(noAlt.statusCode).toBe(400);
    expect(noAlt.json().details[0]).toMatchObject({ field: 'alt', code: 'isNotBlank' });
  });

  it('refuses an article whose image has no description, through the API and on the desk', async () => {
    const api = await t.api('POST', '/api/articles', {
      title: 'Sans description',
      body_md: `![](${address})`,
    });
    expect(api.statusCode).toBe(400);
    expect(api.json().details[0]).toMatchObject({ field: 'body_md', code: 'image-alt' });
    const form = await desk.submit('/admin/articles/new', '/admin/articles', {
      title: 'Sans description',
      body_md: 'Texte\n\n![](https://exemple.fr/photo.jpg)',
      access: 'public',
      action: 'save',
    });
    expect(form.statusCode).toBe(400);
    expect(load(form.body)('.field-error').text()).toContain('Chaque image a besoin d’une description');
    expect(load(form.body)('textarea[name="body_md"]').text()).toContain('![](https://exemple.fr/photo.jpg)');
  });
});
