/**
 * Incremental UTF-8 validation (RFC 3629), so that invalid text fails as soon as the bad byte
 * arrives, fragment by fragment and even within a frame split across reads (Autobahn 6.4.x).
 *
 * @module
 */

/**
 * A streaming UTF-8 validator. Feed bytes with {@linkcode Utf8Validator.push}; it answers `false`
 * as soon as the bytes seen so far cannot be the start of valid UTF-8. At the end of a message,
 * {@linkcode Utf8Validator.complete} tells whether the last code point was finished.
 *
 * The state is the number of continuation bytes still expected and the allowed range of the next
 * one: the second byte after E0, ED, F0 and F4 has a narrower range (RFC 3629 §4), which rules out
 * overlong forms, UTF-16 surrogates and code points above U+10FFFF.
 */
export class Utf8Validator {
  #need = 0;
  #lo = 0x80;
  #hi = 0xbf;

  /** Validates `bytes[start..end)` as the continuation of what was pushed before. */
  push(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
    let need = this.#need;
    let lo = this.#lo;
    let hi = this.#hi;
    let i = start;
    while (i < end) {
      let b = bytes[i];
      if (need === 0) {
        // Hot path: runs of ASCII.
        while (b < 0x80) {
          if (++i === end) {
            this.#need = 0;
            this.#lo = 0x80;
            this.#hi = 0xbf;
            return true;
          }
          b = bytes[i];
        }
        i++;
        // The range of the next byte is the default one unless the lead byte narrows it below.
        lo = 0x80;
        hi = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
          need = 2;
          if (b === 0xe0) lo = 0xa0; // no overlong 3-byte forms
          else if (b === 0xed) hi = 0x9f; // no surrogates U+D800..U+DFFF
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3;
          if (b === 0xf0) lo = 0x90; // no overlong 4-byte forms
          else if (b === 0xf4) hi = 0x8f; // nothing above U+10FFFF
        } else {
          return this.#fail(); // 80..C1 (stray continuation, overlong 2-byte), F5..FF
        }
      } else {
        if (b < lo || b > hi) return this.#fail();
        i++;
        need--;
        lo = 0x80;
        hi = 0xbf;
      }
    }
    this.#need = need;
    this.#lo = lo;
    this.#hi = hi;
    return true;
  }

  /** True when no code point is left unfinished (call at the end of a message). */
  get complete(): boolean {
    return this.#need === 0;
  }

  /** Forgets everything pushed so far. */
  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
  }

  #fail(): false {
    this.reset();
    return false;
  }
}

/** Whether `bytes` is complete, valid UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.push(bytes) && v.complete;
}
