// An Ollama Modelfile for a GGUF file: FROM the file, the chat template as an Ollama (Go)
// template, and a stop parameter per end token. The Go template is derived by rendering the
// model's Jinja template on marker messages, so it holds for templates that wrap each message
// the same way whatever comes before it (Llama 3, ChatML, plain role lines); other templates
// get no TEMPLATE (Ollama then guesses from the GGUF's chat template) and a warning.
import type { TextTokenizer } from '../../io/tokenizer.js';

interface Pieces {
  head: string;
  pre: Record<'system' | 'user' | 'assistant', string>;
  post: Record<'system' | 'user' | 'assistant', string>;
  generation: string;
}

const mark = (n: number) => `\u0007M${n}\u0007`;

function between(text: string, a: string | undefined, b: string | undefined): string {
  const start = a === undefined ? 0 : text.indexOf(a) + a.length;
  const end = b === undefined ? text.length : text.indexOf(b);
  if ((a !== undefined && start < a.length) || end < 0 || end < start) throw new Error('order');
  return text.slice(start, end);
}

function stripStart(text: string, prefix: string): string {
  if (!text.startsWith(prefix)) throw new Error('prefix');
  return text.slice(prefix.length);
}

function stripEnd(text: string, suffix: string): string {
  if (!text.endsWith(suffix)) throw new Error('suffix');
  return text.slice(0, text.length - suffix.length);
}

/** How the template wraps each role, or undefined when it does not do so uniformly. */
function derivePieces(tok: TextTokenizer): Pieces | undefined {
  const render = (roles: string[], generation = false) =>
    tok.renderChat(
      roles.map((role, i) => ({ role, content: mark(i) })),
      { addGenerationPrompt: generation },
    );
  try {
    const u = render(['user']);
    const ua = render(['user', 'assistant']);
    const uau = render(['user', 'assistant', 'user']);
    const postUser = between(u, mark(0), undefined);
    const postAssistant = between(ua, mark(1), undefined);
    const preUser = stripStart(between(uau, mark(1), mark(2)), postAssistant);
    const head = stripEnd(between(u, undefined, mark(0)), preUser);
    const preAssistant = stripStart(between(ua, mark(0), mark(1)), postUser);
    const generation = stripStart(render(['user'], true), u);
    let preSystem = '';
    let postSystem = '';
    try {
      const su = render(['system', 'user']);
      preSystem = stripStart(between(su, undefined, mark(0)), head);
      postSystem = stripEnd(between(su, mark(0), mark(1)), preUser);
    } catch {
      return undefined;
    }
    const pieces: Pieces = {
      head,
      pre: { system: preSystem, user: preUser, assistant: preAssistant },
      post: { system: postSystem, user: postUser, assistant: postAssistant },
      generation,
    };
    // Check the pieces against a longer conversation rendered by the template itself.
    const roles = ['system', 'user', 'assistant', 'user', 'assistant', 'user'] as const;
    const expected = render([...roles], true);
    const built =
      head + roles.map((r, i) => pieces.pre[r] + mark(i) + pieces.post[r]).join('') + generation;
    return built === expected ? pieces : undefined;
  } catch {
    return undefined;
  }
}

/** Go template literal text: `{{` cannot appear raw. */
const literal = (s: string) => (s.includes('{{') ? `{{ ${JSON.stringify(s)} }}` : s);

function goTemplate(p: Pieces): string {
  const role = (r: 'system' | 'user' | 'assistant') =>
    `${literal(p.pre[r])}{{ .Content }}${literal(p.post[r])}`;
  return (
    `${literal(p.head)}{{ range $i, $_ := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}` +
    `{{ if eq .Role "system" }}${role('system')}` +
    `{{ else if eq .Role "user" }}${role('user')}` +
    `{{ else if eq .Role "assistant" }}${role('assistant')}{{ end }}` +
    `{{ if and $last (ne .Role "assistant") }}${literal(p.generation)}{{ end }}{{ end }}`
  );
}

/** A Modelfile for `ggufName` (a path relative to the Modelfile) and what could not be done. */
export function ollamaModelfile(
  ggufName: string,
  tok: TextTokenizer,
  tokenText: (id: number) => string,
  controlTokens: readonly string[],
  /** The BOS text when the tokenizer adds BOS itself (Ollama's runner then adds it too). */
  addedBos?: string,
): { text: string; warnings: string[] } {
  const warnings: string[] = [];
  const lines = [`FROM ./${ggufName}`];
  const stops = new Set(tok.eosTokenIds.map(tokenText));
  if (tok.chatTemplate !== undefined) {
    const pieces = derivePieces(tok);
    if (pieces) {
      if (addedBos !== undefined && pieces.head.startsWith(addedBos)) {
        pieces.head = pieces.head.slice(addedBos.length);
      }
      lines.push(`TEMPLATE """${goTemplate(pieces)}"""`);
      // A control token that closes an assistant turn (ChatML's <|im_end|>) also ends a reply.
      for (const t of controlTokens) if (pieces.post.assistant.includes(t)) stops.add(t);
    } else {
      warnings.push(
        "Modelfile: the chat template does not wrap every message the same way, so it has no TEMPLATE; Ollama falls back to the GGUF's chat template.",
      );
    }
  }
  for (const s of stops) lines.push(`PARAMETER stop ${JSON.stringify(s)}`);
  return { text: `${lines.join('\n')}\n`, warnings };
}
