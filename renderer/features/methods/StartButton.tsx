// Start training, and why it cannot start yet: no model, no dataset, or the engine's refusal
// (the run would not fit any backend it can use; the fit badge above shows the message).
export function StartButton(props: {
  model?: string;
  data?: string;
  refusal?: string;
  onStart: () => void;
}) {
  const why = !props.model
    ? 'Choose a model to start.'
    : !props.data
      ? 'Choose a dataset to start.'
      : props.refusal
        ? 'Will not fit: change the settings above.'
        : undefined;
  return (
    <div className="actions">
      <button
        type="button"
        className="primary"
        disabled={why !== undefined}
        title={props.refusal}
        onClick={props.onStart}
      >
        Start training
      </button>
      {why && <span className="hint">{why}</span>}
    </div>
  );
}
