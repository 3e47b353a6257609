// Exact decimal arithmetic on the venue's decimal text: quoteAmount = price × amount must not pass
// through a float (0.1 × 3 is not 0.3 in binary), and the operands are already exact strings.

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

export function isDecimal(s: string): boolean {
  return DECIMAL.test(s);
}

/** Exact product of two decimal strings. The scale is the sum of the operands' scales, trailing zeros
 * trimmed (the result is the same number either way; trimming keeps it short). */
export function multiplyDecimals(a: string, b: string): string {
  const ma = DECIMAL.exec(a);
  const mb = DECIMAL.exec(b);
  if (!ma || !mb) throw new Error(`not a decimal: ${!ma ? a : b}`);
  const fa = ma[3] ?? '';
  const fb = mb[3] ?? '';
  const negative = (ma[1] === '-') !== (mb[1] === '-');
  const product = BigInt(ma[2]! + fa) * BigInt(mb[2]! + fb);
  const scale = fa.length + fb.length;
  const digits = product.toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = (scale > 0 ? digits.slice(-scale) : '').replace(/0+$/, '');
  const abs = frac ? `${int}.${frac}` : int;
  return negative && product !== 0n ? `-${abs}` : abs;
}
