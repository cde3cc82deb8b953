// Turning argv into a JobSpec-shaped object. The JobSpec schema does the value checks; this only
// knows flags, kinds and which flags a command requires.
import { parseArgs } from 'node:util';
import { WhetstoneError } from '../errors.js';
import { commands, type CommandDef } from './commands.js';

export interface ParsedCommand {
  command: keyof typeof commands | 'help' | 'version';
  json: boolean;
  logLevel?: string;
  job?: Record<string, unknown>;
  /** Command whose help was asked for. */
  helpFor?: keyof typeof commands;
}

const globalOptions = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'log-level': { type: 'string' },
} as const;

export function parseCommandLine(argv: string[]): ParsedCommand {
  const [name, ...rest] = dataSubcommand(argv);
  if (name === undefined || name === 'help' || name === '--help' || name === '-h')
    return { command: 'help', json: false };
  if (name === 'version' || name === '--version') return { command: 'version', json: false };
  if (!(name in commands)) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Unknown command "${name}".`,
      `Commands: ${Object.keys(commands).join(', ')}. Run whetstone --help.`,
    );
  }
  const command = name as keyof typeof commands;
  const def: CommandDef = commands[command];
  const { values, fields } = parseFlags(def, rest);
  const json = values.json === true;
  const logLevel = values['log-level'] as string | undefined;
  if (values.help === true) return { command: 'help', json, helpFor: command };
  const job: Record<string, unknown> = { kind: command, ...fields };
  return { command, json, logLevel, job };
}

/**
 * Read `args` against a command's flags: every value (aliases folded in), the fields they set
 * (numbers converted), and the positional words if `positionals` allows them. Checks required flags
 * unless --help was given.
 */
export function parseFlags(
  def: CommandDef,
  args: string[],
  positionals = false,
): {
  values: Record<string, string | boolean | undefined>;
  fields: Record<string, unknown>;
  positionals: string[];
} {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    ...globalOptions,
  };
  for (const [flag, [, kind]] of Object.entries(def.options))
    options[flag] = { type: kind === 'boolean' ? 'boolean' : 'string' };
  const aliases = Object.entries(def.aliases ?? {});
  for (const [alias, flag] of aliases) options[alias] = options[flag]!;
  let values: Record<string, string | boolean | undefined>;
  let words: string[];
  try {
    ({ values, positionals: words } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: positionals,
    }));
  } catch (err) {
    throw new WhetstoneError('BAD_ARGUMENT', (err as Error).message, `Usage: ${def.usage}`);
  }
  if (values.help === true) return { values, fields: {}, positionals: words };
  for (const [alias, flag] of aliases) {
    if (values[alias] === undefined) continue;
    if (values[flag] !== undefined) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `--${alias} is another name for --${flag}; give one of them.`,
        `Usage: ${def.usage}`,
      );
    }
    values[flag] = values[alias];
  }
  const fields: Record<string, unknown> = {};
  for (const [flag, [field, kind]] of Object.entries(def.options)) {
    const value = values[flag];
    if (value === undefined) continue;
    fields[field] = kind === 'number' ? toNumber(flag, value as string, def) : value;
  }
  const missing = def.required.filter((flag) => values[flag] === undefined);
  if (missing.length > 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Missing ${missing.map((f) => `--${f}`).join(', ')}.`,
      `Usage: ${def.usage}`,
    );
  }
  return { values, fields, positionals: words };
}

/** `data inspect FILE ...` is the inspect job with --data FILE. */
function dataSubcommand(argv: string[]): string[] {
  if (argv[0] !== 'data') return argv;
  const [, sub, file, ...rest] = argv;
  if (sub !== 'inspect') {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Unknown data command "${sub ?? ''}".`,
      'Usage: whetstone data inspect FILE [--model DIR] [--json]',
    );
  }
  if (file === undefined || file.startsWith('-')) return ['inspect', ...argv.slice(2)];
  return ['inspect', '--data', file, ...rest];
}

function toNumber(flag: string, value: string, def: CommandDef): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `--${flag} expects a number, got "${value}".`,
      `Usage: ${def.usage}`,
    );
  }
  return n;
}

export function helpText(command?: keyof typeof commands): string {
  if (command !== undefined) return commandHelp(commands[command]);
  const list = Object.entries({ ...commands, ...extraCommands }).map(
    ([name, def]) => `  ${name.padEnd(10)} ${def.summary}`,
  );
  return `Whetstone: fine-tune local language models with memory-efficient methods.\n\nUsage: whetstone <command> [options]\n\nCommands:\n${list.join('\n')}\n  ${'serve'.padEnd(10)} Web mode: the studio in a browser, on this machine or a training box (main/serve).\n\nRun whetstone <command> --help for a command's options.\n`;
}

/** Commands the CLI runs itself rather than as engine jobs (engine/cluster/cli.ts). */
const extraCommands: Record<string, { summary: string }> = {
  cluster: {
    summary: 'Cluster profiles (add, list, remove, check); a cluster run’s status, cancel.',
  },
  submit: {
    summary: 'Send a training run (or a list of runs, as a job array) to a Slurm cluster.',
  },
};

/** One command's help: summary, usage and every flag. */
export function commandHelp(def: CommandDef): string {
  const aliasOf = new Map(Object.entries(def.aliases ?? {}).map(([old, flag]) => [flag, old]));
  const lines = Object.entries(def.options).map(([flag, [, kind, help]]) => {
    const alias = aliasOf.get(flag);
    const also = alias === undefined ? '' : ` (also --${alias})`;
    return `  --${flag}${kind === 'boolean' ? '' : ' ' + kind.toUpperCase()}  ${help}${also}`;
  });
  return `${def.summary}\n\nUsage: ${def.usage}\n\nOptions:\n${lines.join('\n')}\n  --json  print JSON lines (the last is {"type":"done"} or {"type":"error"})\n`;
}
