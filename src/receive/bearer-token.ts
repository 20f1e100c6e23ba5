/**
 * The receiver's token check: `Authorization: Bearer <token>` compared in
 * constant time (digests of equal length, so neither the length nor the
 * first differing byte shows in the timing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** True when the header carries the token; always true without a token configured. */
export type TokenCheck = (authorization: string | undefined) => boolean;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Creates the check for `token` (undefined: no authentication). */
export function createTokenCheck(token: string | undefined): TokenCheck {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const m = /^bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
    // Digest even when the header is missing, so a missing and a wrong token take the same time.
    return timingSafeEqual(digest(m?.[1] ?? ''), expected) && m !== null;
  };
}
