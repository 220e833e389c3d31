import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where browser tests leave their screenshots (ignored by git). */
export const ARTIFACTS = path.resolve('test/artifacts');
export const VIEWPORTS = {
  desktop: { width: 1280, height: 860 },
  phone: { width: 390, height: 844 },
} as const;

/**
 * Debian's Chromium, headless, as DESIGN gives it: without the background-networking flags it
 * keeps trying to reach Google's hosts, which this machine's network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What a page did wrong in the browser: console errors, uncaught exceptions, failed requests. */
export function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()} at ${message.location().url}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A navigation that replaces a page cancels its pending requests: that is no failure.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED')
      problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return problems;
}

/** Full-page screenshots at desktop and phone width; returns the files. */
export async function screenshotBoth(page: Page, name: string): Promise<string[]> {
  const previous = page.viewportSize() ?? VIEWPORTS.desktop;
  const files: string[] = [];
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    const file = path.join(ARTIFACTS, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  await page.setViewportSize(previous);
  return files;
}
