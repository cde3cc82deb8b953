// A typed path with an Open button: how web mode (no file dialog) names a model or a file.
import { useState, type FormEvent } from 'react';

export function PathField(props: {
  label: string;
  placeholder: string;
  onOpen: (path: string) => void;
  busy?: boolean;
  /** The button's word (default Open). */
  action?: string;
}) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim() !== '') props.onOpen(value);
  };
  return (
    <form className="path-field" onSubmit={submit}>
      <label>
        <span>{props.label}</span>
        <input
          type="text"
          value={value}
          placeholder={props.placeholder}
          onChange={(e) => setValue(e.target.value)}
          spellCheck={false}
        />
      </label>
      <button type="submit" disabled={props.busy === true || value.trim() === ''}>
        {props.action ?? 'Open'}
      </button>
    </form>
  );
}
