import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEMPLATES_DIR } from '../src/config/paths.js';
import { startTestApp } from './helpers/test-app.js';

const copies: string[] = [];
function templatesWith(file: string, edit: (source: string) => string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'depeche-templates-'));
  copies.push(dir);
  cpSync(TEMPLATES_DIR, dir, { recursive: true });
  const target = path.join(dir, file);
  writeFileSync(target, edit(readFileSync(target, 'utf8')));
  return dir;
}
afterEach(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('templates checked at boot', () => {
  it('refuses to boot on an MJML mistake, naming the file and the line', async () => {
    const dir = templatesWith('edition-teaser.mjml', (source) =>
      source.replace(
        '<mj-text css-class="article">{{{html}}}</mj-text>',
        '<mj-text colr="red">{{{html}}}</mj-text>',
      ),
    );
    await expect(startTestApp({ TEMPLATES_DIR: dir })).rejects.toThrow(
      /edition-teaser\.mjml, line 6: .*colr.*illegal/,
    );
  });

  it('refuses to boot on a Handlebars syntax error, naming the file', async () => {
    const dir = templatesWith('confirm.mjml', (source) => source.replace('{{/if}}', '{{/iff}}'));
    await expect(startTestApp({ TEMPLATES_DIR: dir })).rejects.toThrow(/confirm\.mjml: .*iff/);
    const page = templatesWith('article.hbs', (source) => `${source}\n{{#each}}`);
    await expect(startTestApp({ TEMPLATES_DIR: page })).rejects.toThrow(/article\.hbs/);
  });

  it('boots on a publication’s own copy of the templates', async () => {
    const dir = templatesWith('home.hbs', (source) => `<p class="custom">Bienvenue</p>\n${source}`);
    const t = await startTestApp({ TEMPLATES_DIR: dir });
    try {
      expect((await t.request({ method: 'GET', url: '/' })).body).toContain(
        '<p class="custom">Bienvenue</p>',
      );
    } finally {
      await t.close();
    }
  });
});
