// Runs llama.cpp (node-llama-cpp's prebuilt CPU build) on GGUF files in a child process and
// returns its answers, or how it refused each file. Tests skip when the package or its binary
// is missing, except in CI (CI or WHETSTONE_REQUIRE_LLAMA_CPP=1), where that is a failure.
import { execFileSync, spawn } from 'node:child_process';
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
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    return `node-llama-cpp's prebuilt llama.cpp does not load: ${stderr.slice(0, 300)}`;
  }
}

export const llamaCppMissing = missingReason();
if (llamaCppMissing !== undefined) {
  if (process.env.CI || process.env.WHETSTONE_REQUIRE_LLAMA_CPP === '1') {
    throw new Error(`llama.cpp is required here: ${llamaCppMissing}`);
  }
  process.stderr.write(`Skipping the llama.cpp GGUF checks: ${llamaCppMissing}\n`);
}

/** llama.cpp's answer, or its refusal: an error it raised, or the process aborting. */
export type OracleResult = { ok: true; answer: OracleAnswer } | { ok: false; error: string };

let batches = 0;

function runFrom(
  file: string,
  from: number,
): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [worker, file, String(from)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ lines: out.split('\n').filter(Boolean), code, stderr }));
  });
}

/**
 * Ask llama.cpp about each request's model, in one process while it survives: a file that aborts
 * it counts as refused and the rest go to a fresh process.
 */
export async function askLlamaCpp(requests: OracleRequest[]): Promise<OracleResult[]> {
  const file = join(scratch, `requests-${batches++}.json`);
  writeFileSync(file, JSON.stringify(requests));
  const results: OracleResult[] = [];
  while (results.length < requests.length) {
    const { lines, code, stderr } = await runFrom(file, results.length);
    for (const line of lines) {
      const parsed = JSON.parse(line) as { answer?: OracleAnswer; error?: string };
      results.push(
        parsed.answer ? { ok: true, answer: parsed.answer } : { ok: false, error: parsed.error! },
      );
    }
    if (results.length < requests.length && code !== 0) {
      results.push({ ok: false, error: `llama.cpp aborted (exit ${code}): ${stderr.slice(-500)}` });
    } else if (results.length < requests.length) {
      throw new Error(`the llama.cpp worker stopped early: ${stderr.slice(-2000)}`);
    }
  }
  return results;
}

/** As askLlamaCpp, failing with llama.cpp's own words when it refuses a file. */
export async function llamaCpp(requests: OracleRequest[]): Promise<OracleAnswer[]> {
  return (await askLlamaCpp(requests)).map((r, i) => {
    if (!r.ok) throw new Error(`llama.cpp refused ${requests[i]!.model}: ${r.error}`);
    return r.answer;
  });
}

/** A measured figure, printed with the test output (the report quotes them). */
export function report(line: string): void {
  process.stdout.write(`[gguf] ${line}\n`);
}
