// The user's say over detection: format, column mapping and task template (blank: detected).
import { useEffect, useState, type FormEvent } from 'react';
import type { InspectReport } from '../../../engine/data/inspect.js';
import type { FormatName } from '../../../engine/data/formats.js';
import type { DataChoices } from './datasets-store.js';

const formats: FormatName[] = ['text', 'alpaca', 'chat', 'completion', 'classification'];
const templates = ['sst2', 'rte', 'cb', 'boolq', 'copa', 'winogrande', 'multirc'];

export function DataChoicesForm(props: {
  report: InspectReport;
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
          <option value="">detected ({props.report.format})</option>
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
          placeholder={`role=column, e.g. text=${props.report.columns[0] ?? 'review'}`}
          onChange={(e) => setDraft({ ...draft, columns: e.target.value || undefined })}
        />
      </label>
      <label>
        Template
        <input
          type="text"
          list="templates"
          value={draft.template ?? ''}
          placeholder={props.report.task ?? 'sst2, … or "Review: {col}\nSentiment:"'}
          onChange={(e) => setDraft({ ...draft, template: e.target.value || undefined })}
        />
        <datalist id="templates">
          {templates.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      <button type="submit">Apply</button>
      <p className="hint">Columns in the file: {props.report.columns.join(', ') || 'none'}</p>
    </form>
  );
}
