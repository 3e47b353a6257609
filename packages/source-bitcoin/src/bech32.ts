// Segwit addresses (BIP 173 bech32 for version 0, BIP 350 bech32m for versions 1..16). bitcoinjs-lib's
// `address.toBech32` (the `bech32` package) builds the string one character at a time; in a block of
// segwit outputs those many-piece strings and their garbage were three quarters of the decode time
// (bench/decode.ts, generated segwit block). Same algorithm here, characters written to a byte buffer
// and read back as one string; tested against bitcoinjs-lib (test/script-types.test.ts).

const CHARSET = Buffer.from('qpzry9x8gf2tvdw0s3jn54khce6mua7l', 'latin1');
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

// Scratch: synchronous, never re-entered. hrp (<= 83) + '1' + up to 65 data words + 6 checksum chars.
const out = Buffer.alloc(256);

function polymodStep(pre: number): number {
  const b = pre >> 25;
  return (
    ((pre & 0x1ffffff) << 5) ^
    (-((b >> 0) & 1) & 0x3b6a57b2) ^
    (-((b >> 1) & 1) & 0x26508e6d) ^
    (-((b >> 2) & 1) & 0x1ea119fa) ^
    (-((b >> 3) & 1) & 0x3d4233dd) ^
    (-((b >> 4) & 1) & 0x2a1462b3)
  );
}

/** Checksum state after the human-readable part, per prefix (bc, tb, bcrt: a handful). */
const prefixStates = new Map<string, number>();

function prefixState(hrp: string): number {
  let chk = prefixStates.get(hrp);
  if (chk !== undefined) return chk;
  chk = 1;
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) >> 5);
  chk = polymodStep(chk);
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk) ^ (hrp.charCodeAt(i) & 0x1f);
  prefixStates.set(hrp, chk);
  return chk;
}

/** The address of witness program src[start, end) with this version, for prefix `hrp` (lower case). */
export function segwitAddress(
  hrp: string,
  version: number,
  src: Uint8Array,
  start: number,
  end: number,
): string {
  let at = out.write(hrp, 0, 'latin1');
  out[at++] = 0x31; // '1'
  let chk = polymodStep(prefixState(hrp)) ^ version;
  out[at++] = CHARSET[version]!;
  // 8-bit bytes to 5-bit words, padded.
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    acc = ((acc << 8) | src[i]!) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      const w = (acc >> bits) & 31;
      chk = polymodStep(chk) ^ w;
      out[at++] = CHARSET[w]!;
    }
  }
  if (bits > 0) {
    const w = (acc << (5 - bits)) & 31;
    chk = polymodStep(chk) ^ w;
    out[at++] = CHARSET[w]!;
  }
  for (let i = 0; i < 6; i++) chk = polymodStep(chk);
  chk ^= version === 0 ? BECH32_CONST : BECH32M_CONST;
  for (let i = 0; i < 6; i++) out[at++] = CHARSET[(chk >> ((5 - i) * 5)) & 31]!;
  return out.toString('latin1', 0, at);
}
