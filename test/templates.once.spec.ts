import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/app-config.js';
import { TEMPLATES_DIR } from '../src/config/paths.js';
import { EmailRenderer } from '../src/mail/email-renderer.js';
import { PublicationSettings } from '../src/settings/publication-settings.js';
import type { SettingsRepository } from '../src/settings/settings.repository.js';
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

  it('leaves no data folder behind when it refuses to boot', async () => {
    // This file's own temporary folder: what the refused boot created there must be gone.
    const scratch = mkdtempSync(path.join(tmpdir(), 'depeche-refused-'));
    const dir = templatesWith('confirm.mjml', (source) => source.replace('{{/if}}', '{{/iff}}'));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = scratch;
    try {
      await expect(startTestApp({ TEMPLATES_DIR: dir })).rejects.toThrow(/confirm\.mjml/);
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      rmSync(scratch, { recursive: true, force: true });
    }
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

  it('checks the email templates once as they are, and again as soon as one changes', async () => {
    const dir = templatesWith('welcome.mjml', (source) => source);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'depeche-template-check-'));
    copies.push(dataDir);
    const config = loadConfig({ TEMPLATES_DIR: dir, DATA_DIR: dataDir });
    await new EmailRenderer(config, new PublicationSettings(config, {} as SettingsRepository)).onModuleInit();
    const stamp = path.join(dataDir, 'email-templates-checked');
    expect(readFileSync(stamp, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    await new EmailRenderer(config, new PublicationSettings(config, {} as SettingsRepository)).onModuleInit();

    const target = path.join(dir, 'welcome.mjml');
    writeFileSync(target, readFileSync(target, 'utf8').replace('<mj-text>', '<mj-text colr="red">'));
    await expect(
      new EmailRenderer(config, new PublicationSettings(config, {} as SettingsRepository)).onModuleInit(),
    ).rejects.toThrow(/welcome\.mjml, line \d+: .*colr/);
  });
});
