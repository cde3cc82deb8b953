// What a screen shows before there is anything on it: what is missing, and how to get it.
import type { ReactNode } from 'react';

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state">
      <p className="empty-title">{title}</p>
      {children && <div className="hint">{children}</div>}
    </div>
  );
}
