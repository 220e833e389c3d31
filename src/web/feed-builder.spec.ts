import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { publicationDefaults } from '../settings/publication.js';
import { buildRss } from './feed-builder.js';

describe('the RSS feed', () => {
  it('has no build date before the first article, rather than 1970', () => {
    const config = loadConfig({ DATA_DIR: '/nonexistent/depeche', SECRET_KEY: 'k'.repeat(40) });
    const rss = buildRss(config, publicationDefaults(config.publication), []);
    expect(rss).not.toContain('1970');
    expect(rss).not.toContain('<lastBuildDate>');
    expect(rss).toContain('<channel>');
  });
});
