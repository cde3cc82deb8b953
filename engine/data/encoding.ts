// Text encodings of dataset files. UTF-8 is read strictly: a byte that is not UTF-8 (a Latin-1
// file, say) stops the read with the file and line, rather than training on U+FFFD.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { WhetstoneError } from '../errors.js';

export const textEncodings = ['utf-8', 'latin1', 'utf-16le'] as const;
export type TextEncoding = (typeof textEncodings)[number];

interface Decoder {
  decode(chunk: Buffer | undefined, options: { stream: boolean }): string;
}

/** Windows-1252's characters for 0x80–0x9F, where it differs from ISO-8859-1 (WHATWG's table). */
const CP1252_80_9F =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/**
 * The decoder for `encoding`; a byte order mark is dropped. "latin1" is Windows-1252, as browsers
 * read it, which also reads ISO-8859-1 text except control codes 0x80–0x9F. It is decoded here:
 * Node's TextDecoder reads those bytes either way depending on its path.
 */
function decoderFor(encoding: TextEncoding): Decoder {
  if (encoding === 'latin1') {
    return {
      decode: (chunk) =>
        (chunk?.toString('latin1') ?? '').replace(
          /[\x80-\x9f]/g,
          (c) => CP1252_80_9F[c.charCodeAt(0) - 0x80]!,
        ),
    };
  }
  return new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
}

/** `bytes` (a stream of `file`) decoded chunk by chunk; invalid UTF-8 throws DATASET_INVALID. */
export async function* decodeChunks(
  bytes: Readable,
  file: string,
  encoding: TextEncoding,
): AsyncGenerator<string> {
  const decoder = decoderFor(encoding);
  try {
    for await (const chunk of bytes as AsyncIterable<Buffer>) {
      const text = decode(decoder, chunk, true);
      if (text === undefined) throw await invalidUtf8(file);
      if (text !== '') yield text;
    }
    const rest = decode(decoder, undefined, false);
    if (rest === undefined) throw await invalidUtf8(file);
    if (rest !== '') yield rest;
  } finally {
    bytes.destroy();
  }
}

/** All of `file` decoded (for the formats that must be read whole). */
export async function readTextWhole(file: string, encoding: TextEncoding): Promise<string> {
  let text = '';
  for await (const chunk of decodeChunks(createReadStream(file), file, encoding)) text += chunk;
  return text;
}

function decode(decoder: Decoder, chunk: Buffer | undefined, stream: boolean) {
  try {
    return decoder.decode(chunk, { stream });
  } catch (err) {
    if (err instanceof TypeError) return undefined; // the fatal decoder's "not valid"
    throw err;
  }
}

async function invalidUtf8(file: string): Promise<WhetstoneError> {
  const found = await firstInvalidUtf8(createReadStream(file));
  const where = found
    ? `line ${found.line} is not valid UTF-8 (byte 0x${found.byte.toString(16).toUpperCase().padStart(2, '0')})`
    : 'it is not valid UTF-8';
  const utf16 = found?.utf16Bom === true;
  return new WhetstoneError(
    'DATASET_INVALID',
    `${file}: ${where}.`,
    utf16
      ? 'It starts with a UTF-16 byte order mark: read it with --encoding utf-16le.'
      : 'Save the file as UTF-8, or read it with --encoding latin1 if it was written as Latin-1 / Windows-1252 (--encoding utf-16le for UTF-16).',
  );
}

export interface InvalidUtf8 {
  /** Byte offset where the bad sequence starts. */
  offset: number;
  /** 1-based line of that byte. */
  line: number;
  byte: number;
  /** The file starts with FF FE or FE FF. */
  utf16Bom: boolean;
}

/**
 * Where the first invalid UTF-8 sequence starts (Unicode's table of well-formed sequences:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or undefined if there is none.
 */
export async function firstInvalidUtf8(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<InvalidUtf8 | undefined> {
  let offset = 0;
  let line = 1;
  let need = 0; // continuation bytes still expected
  let low = 0x80; // the range the next continuation byte must fall in
  let high = 0xbf;
  let start = { offset: 0, line: 1, byte: 0 }; // the sequence under way
  let head: number[] = [];
  const bad = (at: typeof start) => ({
    ...at,
    utf16Bom: (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff),
  });
  for await (const chunk of chunks) {
    if (head.length < 2) head = [...head, ...chunk.subarray(0, 2 - head.length)];
    for (let i = 0; i < chunk.length; i++, offset++) {
      const b = chunk[i]!;
      if (need > 0) {
        if (b < low || b > high) return bad(start);
        need--;
        low = 0x80;
        high = 0xbf;
        continue;
      }
      start = { offset, line, byte: b };
      if (b === 0x0a) line++;
      if (b < 0x80) continue;
      if (b >= 0xc2 && b <= 0xdf) need = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        if (b === 0xe0) low = 0xa0; // overlong
        if (b === 0xed) high = 0x9f; // surrogates
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        if (b === 0xf0) low = 0x90; // overlong
        if (b === 0xf4) high = 0x8f; // above U+10FFFF
      } else return bad(start);
    }
  }
  return need > 0 ? bad(start) : undefined; // cut off at the end of the file
}
