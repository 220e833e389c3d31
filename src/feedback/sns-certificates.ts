import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { isSnsUrl } from './relay-events.js';

const MAX_CERTIFICATE_BYTES = 16 * 1024;
const FETCH_TIMEOUT_MS = 5000;
const KEPT = 20;

/**
 * SNS's signing certificates, fetched from SNS's own hosts only and kept: SNS signs with a handful
 * of certificates, so each is fetched once, not per notification.
 */
@Injectable()
export class SnsCertificates {
  private readonly kept = new Map<string, string>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private get extraOrigin(): string | undefined {
    return this.config.relays.ses?.certificateOrigin;
  }

  /** Whether a URL SNS gives (certificate, subscription) is SNS's own. */
  isSns(url: string): boolean {
    return isSnsUrl(url, this.extraOrigin);
  }

  /** The PEM certificate at an SNS URL; undefined for a URL that is not SNS's or a fetch that failed. */
  async get(url: string): Promise<string | undefined> {
    if (!this.isSns(url) || !url.endsWith('.pem')) return undefined;
    const kept = this.kept.get(url);
    if (kept !== undefined) return kept;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
      const length = Number(response.headers.get('content-length') ?? 0);
      if (!response.ok || length > MAX_CERTIFICATE_BYTES) return undefined;
      const body = await response.text();
      if (body.length > MAX_CERTIFICATE_BYTES || !body.includes('-----BEGIN CERTIFICATE-----'))
        return undefined;
      if (this.kept.size >= KEPT) this.kept.delete(this.kept.keys().next().value ?? '');
      this.kept.set(url, body);
      return body;
    } catch {
      return undefined;
    }
  }

  /** Confirms a subscription by visiting SubscribeURL, SNS's own, as SNS asks. */
  async confirm(subscribeUrl: string): Promise<boolean> {
    if (!this.isSns(subscribeUrl)) return false;
    try {
      const response = await fetch(subscribeUrl, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        redirect: 'error',
      });
      return response.ok;
    } catch {
      return false;
    }
  }
}
