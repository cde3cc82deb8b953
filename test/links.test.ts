// Every link in the repository's Markdown resolves — the file exists and its #anchor is one of the
// target's headings, slugged as GitHub does — and so does every Markdown file a source comment
// names (`docs/memory.md#the-estimator`). Cite another repository's file by a URL or as
// owner/repo/path: a path after a slash is not checked. The README stays short (under 250 lines).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

/** Folders never walked: dependencies, build outputs, generated runs and fixtures, dot-folders. */
const SKIP = new Set(['node_modules', 'dist', 'release', 'runs', 'bench/results']);
const SOURCE = new Set(['.ts', '.tsx', '.js', '.cjs', '.mjs', '.cts', '.mts', '.py', '.yml']);

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(root, path);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && !SKIP.has(entry.name) && !SKIP.has(rel)) walk(path, out);
    } else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** GitHub's heading anchor: the text as rendered, lower-cased, punctuation dropped, spaces to '-'. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*~]/g, '') // code and emphasis markers (`_` is kept: GitHub keeps it)
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((line, i) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** Every anchor a Markdown file's headings give, duplicates numbered as GitHub does. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Relative link targets of a Markdown file: inline links, images and reference definitions. */
export function markdownLinks(markdown: string): { target: string; n: number }[] {
  const out: { target: string; n: number }[] = [];
  for (const { line, n } of proseLines(markdown)) {
    const text = line.replace(/`[^`]*`/g, ''); // code spans hold no links
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ target: m[1]!, n });
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (definition) out.push({ target: definition[1]!, n });
  }
  return out.filter(({ target }) => !/^[a-z][a-z0-9+.-]*:/i.test(target)); // URLs, mailto:
}

/** Markdown files a source file's text names by path (not after a slash: URLs, other repos). */
export function mentionedDocs(source: string): { target: string; n: number }[] {
  const out: { target: string; n: number }[] = [];
  source.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(
      /(?<![\w./-])((?:[\w.-]+\/)*[\w-][\w.-]*\.md)(#[\p{L}\p{N}_-]+)?/gu,
    ))
      out.push({ target: m[1]! + (m[2] ?? ''), n: i + 1 });
  });
  return out;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let found = anchorCache.get(file);
  if (!found) anchorCache.set(file, (found = anchors(readFileSync(file, 'utf8'))));
  return found;
}

/** Why `target` (relative to `base`, a folder) does not resolve, or undefined when it does. */
function problem(target: string, base: string, self: string): string | undefined {
  const hash = target.indexOf('#');
  const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? self : resolve(base, path);
  // Outside the repository (a notes folder beside it, say) is not part of the project, even
  // where it exists.
  if (relative(root, file).startsWith('..')) return `${path} is outside the repository`;
  if (!existsSync(file)) return `no such file ${relative(root, file) || path}`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(file).isDirectory() || extname(file) !== '.md')
    return `#${anchor} points into ${relative(root, file)}, which has no headings`;
  if (!anchorsOf(file).has(anchor.toLowerCase()))
    return `${relative(root, file)} has no heading #${anchor}`;
  return undefined;
}

/** The first folder's problem when `target` resolves from none of `bases`, else undefined. */
function resolvesFrom(target: string, bases: string[], self: string): string | undefined {
  const problems = bases.map((base) => problem(target, base, self));
  return problems.includes(undefined) ? undefined : problems[0];
}

const files = walk(root);
const markdownFiles = files.filter((f) => extname(f) === '.md');
// This file is left out: its own checks spell broken paths on purpose.
const self = relative(root, import.meta.filename);
const sourceFiles = files.filter((f) => SOURCE.has(extname(f)) && f !== self);

describe('links', () => {
  it('finds the Markdown and source files', () => {
    expect(markdownFiles).toContain('README.md');
    expect(markdownFiles).toContain(join('docs', 'architecture.md'));
    expect(sourceFiles).toContain(join('engine', 'protocol.ts'));
  });

  it('resolves every relative link in the Markdown files', () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      const abs = join(root, file);
      const text = readFileSync(abs, 'utf8');
      for (const { target, n } of markdownLinks(text)) {
        const why = problem(target, dirname(abs), abs);
        if (why) broken.push(`${file}:${n}: (${target}) — ${why}`);
      }
      // A Markdown file named in the prose (`see NOTES.md`) must exist too.
      for (const { line, n } of proseLines(text)) {
        for (const { target } of mentionedDocs(line.replace(/\]\([^)]*\)/g, ']'))) {
          const why = resolvesFrom(target, [root, dirname(abs)], abs);
          if (why) broken.push(`${file}:${n}: ${target} — ${why}`);
        }
      }
    }
    expect(broken, broken.join('\n')).toEqual([]);
  });

  it('resolves every Markdown file that source comments name', () => {
    const broken: string[] = [];
    for (const file of sourceFiles) {
      const abs = join(root, file);
      for (const { target, n } of mentionedDocs(readFileSync(abs, 'utf8'))) {
        // Named from the repository root (`docs/…`), or beside the file.
        const why = resolvesFrom(target, [root, dirname(abs)], abs);
        if (why) broken.push(`${file}:${n}: ${target} — ${why}`);
      }
    }
    expect(broken, broken.join('\n')).toEqual([]);
  });

  it('keeps the README under 250 lines', () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThan(250);
  });
});

describe('link checking itself', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug('What we fixed in TensorFlow.js 4.22')).toBe('what-we-fixed-in-tensorflowjs-422');
    expect(slug("Each method's floor")).toBe('each-methods-floor');
    expect(slug('Default learning rates and μ')).toBe('default-learning-rates-and-μ');
    expect(slug('The `whetstone` command')).toBe('the-whetstone-command');
    expect(slug('QLoRA: NF4 with double quantization')).toBe('qlora-nf4-with-double-quantization');
    expect([...anchors('# A\n## B\n```\n# not a heading\n```\n## B\n')]).toEqual(['a', 'b', 'b-1']);
  });

  it('finds links outside code, and paths that are not after a slash', () => {
    const md =
      'See [x](a.md#b) and `[y](no.md)`, <https://e.org>.\n```\n[z](c.md)\n```\n[r]: d.md\n';
    expect(markdownLinks(md).map((l) => l.target)).toEqual(['a.md#b', 'd.md']);
    const src = '// docs/a.md#b-c, x/y/REF.md, https://h.io/docs/g.md and a .md file\n';
    expect(mentionedDocs(src).map((l) => l.target)).toEqual(['docs/a.md#b-c', 'x/y/REF.md']);
  });

  it('reports a missing file and a missing heading', () => {
    const readme = join(root, 'README.md');
    expect(problem('docs/methods.md#lomo', root, readme)).toBeUndefined();
    expect(problem('docs/none.md', root, readme)).toMatch(/no such file/);
    expect(problem('docs/methods.md#no-such-heading', root, readme)).toMatch(/no heading/);
    expect(problem('../notes/README.md', root, readme)).toMatch(/outside the repository/);
  });
});
