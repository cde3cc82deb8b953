// The estimate against the device: fits / tight / will not fit, the parts, and what to change.
import type { EstimateResult, SystemInfo } from '../../../main/contract.js';
import { formatBytes } from '../../lib/format.js';
import { judgeFit } from './fit.js';

const label = {
  fits: 'Fits',
  tight: 'Tight',
  'no-fit': 'Will not fit',
  unknown: 'Unknown',
} as const;

export function MemoryFit(props: {
  estimate: EstimateResult;
  system: SystemInfo;
  settings: { method: string; batch: number; recompute: boolean };
}) {
  const e = props.estimate.estimate;
  const fit = judgeFit(e, props.system, props.settings, props.estimate.fit);
  return (
    <section className={`fit fit-${fit.verdict}`} data-testid="memory-fit" aria-live="polite">
      <p className="fit-verdict">
        <strong>{label[fit.verdict]}</strong>: about {formatBytes(e.peakBytes)} at peak
        {fit.budgetBytes !== undefined && (
          <>
            {' '}
            of {formatBytes(fit.budgetBytes)} ({fit.budgetSource})
          </>
        )}
        {fit.verdict === 'unknown' && <> — {fit.budgetSource} does not report its memory.</>}
      </p>
      <p className="hint">
        weights {formatBytes(e.weightBytes)} · gradients {formatBytes(e.gradientBytes)} · optimizer{' '}
        {formatBytes(e.optimizerBytes)} · activations {formatBytes(e.activationBytes)} (batch{' '}
        {props.estimate.batch} × {props.estimate.seq} tokens)
      </p>
      {fit.refusal && (
        <p className="refusal" role="alert">
          {fit.refusal}
        </p>
      )}
      {fit.advice.length > 0 && (
        <ul className="advice">
          {fit.advice.map((a) => (
            <li key={a}>{a}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
