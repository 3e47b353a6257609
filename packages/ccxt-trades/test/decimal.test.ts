import { describe, expect, it } from 'vitest';
import { multiplyDecimals, parseRetryAfter } from '../src/index.ts';

describe('multiplyDecimals', () => {
  it('multiplies exactly where floats do not', () => {
    expect(0.1 * 3).not.toBe(0.3);
    expect(multiplyDecimals('0.1', '3')).toBe('0.3');
    expect(multiplyDecimals('73271.63000000', '0.00007448')).toBe('5.4572710024');
    expect(multiplyDecimals('64000.10', '0.00500000')).toBe('320.0005');
  });
  it('handles integers, zeros and signs', () => {
    expect(multiplyDecimals('12', '3')).toBe('36');
    expect(multiplyDecimals('0.000', '5.5')).toBe('0');
    expect(multiplyDecimals('-1.5', '2')).toBe('-3');
    expect(multiplyDecimals('-1.5', '-2')).toBe('3');
    expect(multiplyDecimals('99999999999999999999.99999999', '99999999999999999999.99999999')).toBe(
      '9999999999999999999999999998000000000000.0000000000000001',
    ); // (1e20 - 1e-8)^2 = 1e40 - 2e12 + 1e-16;
  });
  it('rejects non-decimals', () => {
    expect(() => multiplyDecimals('1e5', '1')).toThrow(/not a decimal/);
    expect(() => multiplyDecimals('1', 'NaN')).toThrow(/not a decimal/);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, falls back otherwise', () => {
    expect(parseRetryAfter('2', 500)).toBe(2000);
    expect(parseRetryAfter(undefined, 500)).toBe(500);
    expect(parseRetryAfter('soon', 500)).toBe(500);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 0, 7_000)).toBe(3000);
  });
});
