// An error as the contract gives it: what went wrong, and the hint on what to do next.
import type { ErrorInfo } from '../../engine/errors.js';

export function ErrorNote({ error }: { error: ErrorInfo }) {
  return (
    <div className="error-note" role="alert">
      <strong>{error.message}</strong>
      {error.hint && <p className="hint">{error.hint}</p>}
    </div>
  );
}
