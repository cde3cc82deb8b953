// Runs llama.cpp (node-llama-cpp's prebuilt CPU build) on a GGUF file in a child process and
// returns its answer, or how it refused the file. Tests skip when the package or its binary is
// missing, except in CI (CI or WHETSTONE_REQUIRE_LLAMA_CPP=1), where that is a failure.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OracleAnswer, OracleRequest } from './llama-cpp-worker.js';

const worker = join(import.meta.dirname, '..', '..', 'dist', 'test', 'gguf', 'llama-cpp-worker.js');
const scratch = mkdtempSync(join(tmpdir(), 'whetstone-llama-cpp-'));

/** Why llama.cpp cannot run here, or undefined when it can. */
function missingReason(): string | undefined {
  if (!existsSync(worker)) return `${worker} is not built (run tsc -b)`;
  try {
    execFileSync(process.execPath, [worker, '--probe'], { stdio: 'pipe', timeout: 60_000 });
    return undefined;
  } catch (err) {
    return `node-llama-cpp's prebuilt llama.cpp does not load: ${String((err as { stderr?: Buffer }).stderr ?? err).slice(0, 300)}`;
  }
}

export const llamaCppMissing = missingReason();
if (llamaCppMissing !== undefined) {
  if (process.env.CI || process.env.WHETSTONE_REQUIRE_LLAMA_CPP === '1') {
    throw new Error(`llama.cpp is required here: ${llamaCppMissing}`);
  }
  process.stderr.write(`Skipping the llama.cpp GGUF checks: ${llamaCppMissing}\n`);
}

export type OracleResult =
  { ok: true; answer: OracleAnswer } | { ok: false; code: number | null; stderr: string };

let requests = 0;

/** Ask llama.cpp about `req.model`; a refusal (error or abort) comes back as ok: false. */
export function askLlamaCpp(req: OracleRequest): Promise<OracleResult> {
  const file = join(scratch, `request-${requests++}.json`);
  writeFileSync(file, JSON.stringify(req));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [worker, file],
      { maxBuffer: 256 << 20, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) resolve({ ok: false, code: (err as { code?: number }).code ?? null, stderr });
        else resolve({ ok: true, answer: JSON.parse(stdout) as OracleAnswer });
      },
    );
  });
}

/** As askLlamaCpp, failing with llama.cpp's own words when it refuses the file. */
export async function llamaCpp(req: OracleRequest): Promise<OracleAnswer> {
  const result = await askLlamaCpp(req);
  if (!result.ok) throw new Error(`llama.cpp refused ${req.model}: ${result.stderr.slice(-2000)}`);
  return result.answer;
}

export { scratch as oracleScratch };

/** A measured figure, printed with the test output (the report quotes them). */
export function report(line: string): void {
  process.stdout.write(`[gguf] ${line}\n`);
}
