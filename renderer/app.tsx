// The studio shell. For now it shows what the engine found on this machine; the model, dataset,
// method and run screens build on it.
import { useEffect, useState } from 'react';
import type { SystemInfo } from '../main/contract.js';
import type { ErrorInfo } from '../engine/errors.js';
import { whetstoneApi } from './api-client.js';

const api = whetstoneApi();

function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export function App() {
  const [info, setInfo] = useState<SystemInfo>();
  const [error, setError] = useState<ErrorInfo>();

  useEffect(() => {
    void api['system:info']({}).then((result) =>
      result.ok ? setInfo(result.data) : setError(result.error),
    );
  }, []);

  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', padding: 24 }}>
      <h1>Whetstone</h1>
      {error && (
        <p role="alert">
          {error.message}
          {error.hint && <> — {error.hint}</>}
        </p>
      )}
      {!info && !error && <p>Checking this machine…</p>}
      {info && (
        <dl>
          <dt>Backend</dt>
          <dd>
            {info.backend} ({info.device})
          </dd>
          <dt>Host memory</dt>
          <dd>
            {formatGiB(info.hostMemory.freeBytes)} free of {formatGiB(info.hostMemory.totalBytes)}
          </dd>
          {info.deviceMemory.totalBytes !== undefined && (
            <>
              <dt>Device memory</dt>
              <dd>
                {formatGiB(info.deviceMemory.freeBytes ?? 0)} free of{' '}
                {formatGiB(info.deviceMemory.totalBytes)}
              </dd>
            </>
          )}
          {info.skipped.map((s) => (
            <div key={s.backend}>
              <dt>{s.backend}</dt>
              <dd>skipped: {s.reason}</dd>
            </div>
          ))}
        </dl>
      )}
    </main>
  );
}
