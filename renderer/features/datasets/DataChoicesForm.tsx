// The user's say over detection: format, column mapping and task template (blank: detected),
// and the file's text encoding. Shown after a refusal too: a choice here may be the fix.
import { useEffect, useState, type FormEvent } from 'react';
import type { InspectReport } from '../../../engine/data/inspect.js';
import type { TextEncoding } from '../../../engine/data/encoding.js';
import type { FormatName } from '../../../engine/data/formats.js';
import type { DataChoices } from './datasets-store.js';

const formats: FormatName[] = ['text', 'alpaca', 'chat', 'completion', 'classification'];
const templates = ['sst2', 'rte', 'cb', 'boolq', 'copa', 'winogrande', 'multirc'];
const encodings: [TextEncoding, string][] = [
  ['latin1', 'Latin-1 / Windows-1252'],
  ['utf-16le', 'UTF-16LE'],
];

export function DataChoicesForm(props: {
  /** The last reading of the file; none after a refusal. */
  report?: InspectReport;
  choices: DataChoices;
  onApply: (choices: DataChoices) => void;
}) {
  const [draft, setDraft] = useState<DataChoices>(props.choices);
  useEffect(() => setDraft(props.choices), [props.choices]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onApply(draft);
  };
  return (
    <form className="choices" onSubmit={submit}>
      <label>
        Format
        <select
          value={draft.format ?? ''}
          onChange={(e) =>
            setDraft({ ...draft, format: (e.target.value || undefined) as FormatName | undefined })
          }
        >
          <option value="">detected{props.report && ` (${props.report.format})`}</option>
          {formats.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
      </label>
      <label>
        Columns
        <input
          type="text"
          value={draft.columns ?? ''}
          placeholder={`role=column, e.g. text=${props.report?.columns[0] ?? 'review'}`}
          onChange={(e) => setDraft({ ...draft, columns: e.target.value || undefined })}
        />
      </label>
      <label>
        Template
        <input
          type="text"
          list="templates"
          value={draft.template ?? ''}
          placeholder={props.report?.task ?? 'sst2, … or "Review: {col}\nSentiment:"'}
          onChange={(e) => setDraft({ ...draft, template: e.target.value || undefined })}
        />
        <datalist id="templates">
          {templates.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      <label>
        Encoding
        <select
          value={draft.encoding ?? ''}
          onChange={(e) =>
            setDraft({
              ...draft,
              encoding: (e.target.value || undefined) as TextEncoding | undefined,
            })
          }
        >
          <option value="">UTF-8 (default)</option>
          {encodings.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Apply</button>
      {props.report && (
        <p className="hint">Columns in the file: {props.report.columns.join(', ') || 'none'}</p>
      )}
    </form>
  );
}
