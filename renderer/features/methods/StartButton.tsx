// Start training, and why it cannot start yet: no model, no dataset, or the engine's refusal
// (the run would not fit any backend it can use; the fit badge above shows the message).
export function StartButton(props: {
  model?: string;
  data?: string;
  refusal?: string;
  onStart: () => void;
  /** Cluster profiles to run on instead (beside Start), and the one chosen. */
  clusters?: string[];
  cluster?: string;
  onChooseCluster?: (name: string) => void;
  onSubmit?: () => void;
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
      {props.clusters && props.clusters.length > 0 && props.onSubmit && (
        <>
          {/* The estimate judged this machine; a cluster's job asks for its own resources. */}
          <button
            type="button"
            disabled={!props.model || !props.data || props.cluster === undefined}
            onClick={props.onSubmit}
          >
            Run on cluster
          </button>
          <select
            aria-label="Cluster"
            value={props.cluster}
            onChange={(e) => props.onChooseCluster?.(e.target.value)}
          >
            {props.clusters.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </>
      )}
      {why && <span className="hint">{why}</span>}
    </div>
  );
}
