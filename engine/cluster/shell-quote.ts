// POSIX shell quoting for the values Whetstone puts in batch scripts and ssh command lines: every
// user-provided value goes through `quote`, so a path or a prompt cannot run anything.
import { WhetstoneError } from '../errors.js';

/** One word for sh/bash: single-quoted, with each ' written as '\''. Refuses a NUL byte. */
export function quote(value: string): string {
  if (value.includes('\0')) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'A value sent to the cluster contains a NUL byte.',
      'Remove it: a shell word cannot hold one.',
    );
  }
  // Plain words stay readable in the rendered script; anything else is single-quoted.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command line whose words are each quoted: what ssh hands to the remote shell. */
export function quoteCommand(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}
