// Writes the parquet test fixtures once: test/data/sst2-*.parquet, the same rows with each codec
// Hugging Face datasets use, and chat-zstd.parquet, conversations as list<struct<role, content>>
// (the Hub's layout). Run: node scripts/make-parquet-fixtures.js (needs the `zstd` tool).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';

const sentences = [
  'a gentle , moving film about two brothers',
  'flat and lifeless from start to finish',
  'the cast has a ball , and so do we',
  'a clumsy plot that never finds its feet',
  'warm , witty and wise',
  'two hours i will not get back',
  'the score alone is worth the ticket',
  'tedious , and far too long',
  'a small triumph of kindness',
  'the jokes land with a dull thud',
];
const labels = sentences.map((_, i) => BigInt((i + 1) % 2));

const compressors = {
  GZIP: (bytes) => new Uint8Array(gzipSync(bytes)),
  // Node 20 has no zstd in zlib; the command line tool writes a standard frame.
  ZSTD: (bytes) => new Uint8Array(execFileSync('zstd', ['-q', '-c', '-19'], { input: bytes })),
};

const out = (name) => join(import.meta.dirname, '..', 'test', 'data', name);

for (const codec of ['SNAPPY', 'GZIP', 'ZSTD']) {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'sentence', data: sentences, type: 'STRING' },
      { name: 'label', data: labels, type: 'INT64' },
    ],
    codec,
    compressors,
    // Several row groups, so the reader's group-by-group streaming is exercised.
    rowGroupSize: 4,
  });
  const file = out(`sst2-${codec.toLowerCase()}.parquet`);
  writeFileSync(file, new Uint8Array(buffer));
  console.log(`${file}: ${buffer.byteLength} bytes`);
}

const turn = (role, content) => ({ role, content });
const chats = [
  [turn('user', 'What is the capital of Norway?'), turn('assistant', 'Oslo.')],
  [
    turn('system', 'Answer in one word.'),
    turn('user', 'What colour is the sky on a clear day?'),
    turn('assistant', 'Blue.'),
  ],
  [turn('user', 'Name a prime number.'), turn('assistant', 'Seven.')],
];
const text = { type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
const chatBuffer = parquetWriteBuffer({
  columnData: [{ name: 'messages', data: chats }],
  schema: [
    { name: 'root', num_children: 1 },
    { name: 'messages', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
    { name: 'role', ...text },
    { name: 'content', ...text },
  ],
  codec: 'ZSTD',
  compressors,
});
writeFileSync(out('chat-zstd.parquet'), new Uint8Array(chatBuffer));
console.log(`${out('chat-zstd.parquet')}: ${chatBuffer.byteLength} bytes`);
