// docs/cli.md documents every command and flag that engine/cli/commands.ts (and
// engine/cluster/commands.ts) defines, so a flag
// added or renamed there cannot leave the reference behind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands as jobCommands } from '../engine/cli/commands.js';
import { clusterCommands } from '../engine/cluster/commands.js';

/** The engine's jobs and the CLI's own cluster commands (`cluster add`, `submit`, ...). */
const commands = { ...jobCommands, ...clusterCommands };

const reference = readFileSync(join(import.meta.dirname, '../docs/cli.md'), 'utf8');
/** The flags the reference spells (`--flag`), wherever they appear. */
const documented = new Set(
  [...reference.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!),
);

describe('docs/cli.md', () => {
  it('has a section for every command', () => {
    const missing = Object.keys(commands)
      .map((name) => (name === 'inspect' ? 'data inspect' : name))
      .filter((name) => !reference.includes(`### \`${name}\``));
    expect(missing).toEqual([]);
  });

  it('documents every flag of every command', () => {
    const missing = Object.entries(commands).flatMap(([name, def]) =>
      Object.keys(def.options)
        .filter((flag) => !documented.has(flag))
        .map((flag) => `${name} --${flag}`),
    );
    expect(missing).toEqual([]);
  });

  it('documents no flag the CLI lacks', () => {
    const known = new Set([
      ...Object.values(commands).flatMap((def) => Object.keys(def.options)),
      // Old spellings the CLI still accepts, which the reference names as such.
      ...Object.values(commands).flatMap((def) => Object.keys(def.aliases ?? {})),
      // Every command's, and `serve`'s (main/serve/serve-cli.ts).
      ...['json', 'help', 'log-level', 'port', 'host', 'allow-remote', 'data-dir'],
    ]);
    expect([...documented].filter((flag) => !known.has(flag))).toEqual([]);
  });
});
