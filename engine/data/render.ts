// Examples as text segments marked "train" or not: the loss mask's source. Chats go through the
// model's own chat template; an assistant turn is the text the template adds for it after the
// generation prompt (its content and end-of-turn marker), found by rendering prefixes.
import type { ChatMessage, TextTokenizer } from '../io/tokenizer.js';
import type { Example } from './formats.js';

export interface Segment {
  text: string;
  /** True where the tokens are targets of the loss (completions, assistant turns, label words). */
  train: boolean;
  /** Follow the text with EOS (unless it already ends with it), so the model learns to stop. */
  eos?: boolean;
}

export interface Rendered {
  segments: Segment[];
  /** Start the token ids with the tokenizer's own special prefix (BOS), as plain text does. */
  addSpecial: boolean;
  /** Assistant turns the chat template's text did not show (they are not trained). */
  unmatched?: number[];
}

/** The rendering tokenizer features: only the chat template matters here. */
export type ChatRenderer = Pick<TextTokenizer, 'renderChat' | 'chatTemplate'>;

export function renderExample(example: Example, tokenizer: ChatRenderer | undefined): Rendered {
  switch (example.kind) {
    case 'text':
      return { segments: [{ text: example.text, train: true, eos: true }], addSpecial: true };
    case 'completion':
      return promptAnswer(example.prompt, example.completion);
    case 'classification': {
      const right = example.candidates[example.label]!;
      return {
        segments: [
          { text: right.context, train: false },
          { text: right.continuation, train: true },
        ],
        addSpecial: true,
      };
    }
    case 'alpaca': {
      const user = example.input.trim()
        ? `${example.instruction}\n\n${example.input}`
        : example.instruction;
      const messages: ChatMessage[] = [
        ...(example.system ? [{ role: 'system', content: example.system }] : []),
        { role: 'user', content: user },
        { role: 'assistant', content: example.output },
      ];
      if (tokenizer?.chatTemplate !== undefined) return renderChat(messages, tokenizer);
      const input = example.input.trim() ? `### Input:\n${example.input}\n\n` : '';
      const system = example.system ? `${example.system}\n\n` : '';
      return promptAnswer(
        `${system}### Instruction:\n${example.instruction}\n\n${input}### Response:\n`,
        example.output,
      );
    }
    case 'chat':
      return tokenizer?.chatTemplate !== undefined
        ? renderChat(example.messages, tokenizer)
        : plainChat(example.messages);
  }
}

/** renderExample, with a template's complaint about one row (a role it refuses) as a message. */
export function tryRender(
  example: Example,
  tokenizer: ChatRenderer | undefined,
): Rendered | { error: string } {
  try {
    return renderExample(example, tokenizer);
  } catch (err) {
    return { error: `the chat template rejects this row: ${(err as Error).message}` };
  }
}

function promptAnswer(prompt: string, answer: string): Rendered {
  return {
    segments: [
      { text: prompt, train: false },
      { text: answer, train: true, eos: true },
    ],
    addSpecial: true,
  };
}

/**
 * The chat template's text, split so each assistant turn is a training segment. The turn is
 * what rendering messages[..i] adds over messages[..i-1] with the generation prompt; where a
 * template rewrites earlier text (so prefixes do not line up), the turn's content is searched.
 */
export function renderChat(messages: ChatMessage[], tokenizer: ChatRenderer): Rendered {
  const full = tokenizer.renderChat(messages);
  const segments: Segment[] = [];
  let covered = 0;
  const unmatched: number[] = [];
  const push = (text: string, train: boolean) => {
    if (text !== '') segments.push({ text, train });
  };
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const before = tokenizer.renderChat(messages.slice(0, i), { addGenerationPrompt: true });
    const upto = tokenizer.renderChat(messages.slice(0, i + 1));
    if (before.length >= covered && upto.startsWith(before) && full.startsWith(upto)) {
      push(full.slice(covered, before.length), false);
      push(full.slice(before.length, upto.length), true);
      covered = upto.length;
      return;
    }
    const at = full.indexOf(m.content, covered);
    if (at < 0) return void unmatched.push(i);
    push(full.slice(covered, at), false);
    push(m.content, true);
    covered = at + m.content.length;
  });
  push(full.slice(covered), false);
  return { segments, addSpecial: false, ...(unmatched.length > 0 && { unmatched }) };
}

/** For models without a chat template: "Role: text" lines; assistant turns end with EOS. */
function plainChat(messages: ChatMessage[]): Rendered {
  const segments: Segment[] = [];
  for (const m of messages) {
    const name = m.role.charAt(0).toUpperCase() + m.role.slice(1);
    if (m.role === 'assistant') {
      segments.push({ text: `${name}:`, train: false });
      segments.push(
        { text: ` ${m.content}`, train: true, eos: true },
        { text: '\n', train: false },
      );
    } else segments.push({ text: `${name}: ${m.content}\n`, train: false });
  }
  return { segments, addSpecial: true };
}
