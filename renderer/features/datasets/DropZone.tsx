// A drop target for dataset files that is also a button opening the file chooser (keyboard).
import { useRef, useState, type DragEvent } from 'react';

export function DropZone(props: { onFile(file: File): void; busy: boolean }) {
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const stop = (e: DragEvent) => {
    e.preventDefault();
    e.stopPropagation();
  };
  return (
    <div
      className={`drop-zone${over ? ' over' : ''}`}
      data-testid="drop-zone"
      role="button"
      tabIndex={0}
      aria-label="Drop a dataset file here, or press Enter to choose one"
      onClick={() => input.current?.click()}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          input.current?.click();
        }
      }}
      onDragEnter={(e) => {
        stop(e);
        setOver(true);
      }}
      onDragOver={(e) => {
        stop(e);
        e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(e) => {
        stop(e);
        setOver(false);
      }}
      onDrop={(e) => {
        stop(e);
        setOver(false);
        const file = e.dataTransfer.files[0];
        if (file) props.onFile(file);
      }}
    >
      <p className="drop-title">{props.busy ? 'Reading…' : 'Drop a dataset file here'}</p>
      <p className="hint">
        .jsonl .json .csv .tsv .parquet .txt — or click / press Enter to choose
      </p>
      <input
        ref={input}
        type="file"
        hidden
        accept=".jsonl,.json,.csv,.tsv,.parquet,.txt"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) props.onFile(file);
          e.target.value = '';
        }}
      />
    </div>
  );
}
