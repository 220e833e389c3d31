import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

/**
 * Grants up to ARGV[1] sends in the current second (Redis's clock, the same for every worker)
 * without passing ARGV[2] in it. Returns the grant and the milliseconds left in the second. One
 * hash key holds the second and its count, so the script names every key it touches (Cluster).
 */
const TAKE_SCRIPT = `
local now = redis.call('TIME')
local second = now[1]
local msLeft = 1000 - math.floor(tonumber(now[2]) / 1000)
local used = 0
if redis.call('HGET', KEYS[1], 'second') == second then
  used = tonumber(redis.call('HGET', KEYS[1], 'used'))
end
local grant = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
if grant < 0 then grant = 0 end
redis.call('HSET', KEYS[1], 'second', second, 'used', used + grant)
redis.call('PEXPIRE', KEYS[1], 5000)
return {grant, msLeft}
`;

type TakeCommand = (key: string, want: number, max: number) => Promise<[number, number]>;

/**
 * SEND_RATE_LIMIT: at most so many messages a second handed to SMTP by all workers together, for
 * providers that cap the rate. Each worker takes small grants from a per-second count in Redis and
 * spends them locally, so the limit costs one round trip per grant rather than one per message; a
 * grant not spent before its second ends is dropped, so no second ever passes the limit.
 */
@Injectable()
export class SendThrottle {
  private readonly key: string;
  private readonly max: number;
  private readonly grantSize: number;
  private readonly takeTokens: TakeCommand;
  private tokens = 0;
  private grantEndsAt = 0;
  private asking: Promise<void> | undefined;

  constructor(@Inject(Redis) redis: Redis, @Inject(APP_CONFIG) config: AppConfig) {
    this.key = `${config.queuePrefix}:send-rate`;
    this.max = config.sendRateLimit;
    // Small enough that several workers share a second fairly, large enough to spare round trips.
    this.grantSize = Math.max(1, Math.min(config.sendConcurrency, Math.ceil(this.max / 20)));
    redis.defineCommand('depecheTakeSendTokens', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    const command = (redis as unknown as Record<string, TakeCommand>)['depecheTakeSendTokens'];
    if (!command) throw new Error('ioredis did not define the send-rate command');
    this.takeTokens = command.bind(redis);
  }

  get limited(): boolean {
    return this.max > 0;
  }

  /** Waits, when a limit is set, until one more message may go. */
  async take(): Promise<void> {
    if (!this.limited) return;
    for (;;) {
      if (this.tokens > 0 && Date.now() < this.grantEndsAt) {
        this.tokens -= 1;
        return;
      }
      this.asking ??= this.ask().finally(() => {
        this.asking = undefined;
      });
      await this.asking;
    }
  }

  private async ask(): Promise<void> {
    const [grant, msLeft] = await this.takeTokens(this.key, this.grantSize, this.max);
    if (grant === 0) {
      await new Promise((resolve) => setTimeout(resolve, msLeft));
      return;
    }
    this.tokens = grant;
    // A little margin: the local clock runs on while the reply travels.
    this.grantEndsAt = Date.now() + Math.max(0, msLeft - 5);
  }
}
