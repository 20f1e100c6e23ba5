/**
 * Recognises the DW_CFA_def_cfa_expression that ld writes for lazy-binding
 * PLT entries: rsp + 8 + ((rip & 15) >= N ? 8 : 0). After an entry's
 * `push` the stack holds one more word, and that happens N bytes into each
 * 16-byte entry (11 for the classic PLT, other values for IBT/BND PLTs).
 */

const DW_OP_breg7 = 0x77; // rsp
const DW_OP_breg16 = 0x80; // rip
const DW_OP_lit0 = 0x30;
const DW_OP_and = 0x1a;
const DW_OP_ge = 0x2a;
const DW_OP_shl = 0x24;
const DW_OP_plus = 0x22;

/** The base offset and the (rip & 15) threshold of a PLT CFA expression. */
export interface PltExpression {
  readonly rspOffset: number;
  readonly threshold: number;
}

/**
 * Decodes `expr` when it is the PLT pattern
 * `breg7 B; breg16 0; lit15; and; litN; ge; lit3; shl; plus`, else undefined.
 */
export function matchPltExpression(expr: Buffer): PltExpression | undefined {
  if (expr.length !== 11) return undefined;
  const rspOffset = expr[1]!;
  // B and N are single-byte (sleb128 < 64, lit0..lit31) in every PLT ld emits.
  if (expr[0] !== DW_OP_breg7 || rspOffset >= 0x40) return undefined;
  const tail = [DW_OP_breg16, 0x00, DW_OP_lit0 + 15, DW_OP_and];
  for (let i = 0; i < tail.length; i++) if (expr[2 + i] !== tail[i]) return undefined;
  const lit = expr[6]! - DW_OP_lit0;
  if (lit < 0 || lit > 15) return undefined;
  const rest = [DW_OP_ge, DW_OP_lit0 + 3, DW_OP_shl, DW_OP_plus];
  for (let i = 0; i < rest.length; i++) if (expr[7 + i] !== rest[i]) return undefined;
  return { rspOffset, threshold: lit };
}
