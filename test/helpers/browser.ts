import { type Browser, chromium } from 'playwright-core';

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
