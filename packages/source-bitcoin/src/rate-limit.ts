// Token bucket: at most `perSecond` acquisitions per second on average, bursts up to one second's worth.
// Keeps input resolution from hammering a shared node or a public Esplora instance.
import { sleep } from '@tributary/sdk';

export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000), signal);
    }
  }
}
