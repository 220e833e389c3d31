import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { buildRss } from './feed-builder.js';

describe('the RSS feed', () => {
  it('has no build date before the first article, rather than 1970', () => {
    const rss = buildRss(loadConfig({ DATA_DIR: '/nonexistent/depeche', SECRET_KEY: 'k'.repeat(40) }), []);
    expect(rss).not.toContain('1970');
    expect(rss).not.toContain('<lastBuildDate>');
    expect(rss).toContain('<channel>');
  });
});
