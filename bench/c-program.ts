/**
 * Compiles a benchmark's C or assembly program into a private temp
 * directory. Benchmarks carry their programs as source text so they need
 * only gcc, not the test fixtures' build.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** A compiled program; `dispose()` removes its directory. */
export interface CProgram {
  readonly path: string;
  /** Wall time gcc took, milliseconds. */
  readonly compileMs: number;
  dispose(): void;
}

/**
 * Writes `source` to a temp dir as NAME.EXT (`c`, or `s` for assembly) and
 * compiles it with `gcc flags`; throws "compiling NAME: cause".
 */
export function compileC(name: string, source: string, flags: readonly string[], ext: 'c' | 's' = 'c'): CProgram {
  const dir = mkdtempSync(join(tmpdir(), `meshprof-bench-${name}-`));
  const src = join(dir, `${name}.${ext}`);
  const path = join(dir, name);
  writeFileSync(src, source);
  const t = performance.now();
  try {
    execFileSync('gcc', [...flags, '-o', path, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`compiling ${name}: ${stderr || (err as Error).message}`);
  }
  return { path, compileMs: performance.now() - t, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Assembly with `count` small functions `f000001` ... (each a -O0 empty C
 * function's body: push, mov, nop, pop, ret), typed and sized as gcc emits
 * them, plus an empty main. The same 100k functions as C take gcc -O0 about
 * 30 s and 1.2 GB; as assembly about 2 s, with the same symbol table, and
 * `-g` gives one .debug_line row per instruction.
 */
export function manyFunctionsAssembly(count: number): string {
  const width = String(count).length;
  const out: string[] = ['\t.text'];
  for (let i = 0; i < count; i++) {
    const f = `f${String(i).padStart(width, '0')}`;
    out.push(
      `\t.globl ${f}`, `\t.type ${f}, @function`, `${f}:`,
      '\tpushq %rbp', '\tmovq %rsp, %rbp', '\tnop', '\tpopq %rbp', '\tret',
      `\t.size ${f}, .-${f}`,
    );
  }
  out.push('\t.globl main', '\t.type main, @function', 'main:', '\txorl %eax, %eax', '\tret', '\t.size main, .-main');
  // Without this note the linker would make the stack executable.
  out.push('\t.section .note.GNU-stack,"",@progbits', '');
  return out.join('\n');
}
