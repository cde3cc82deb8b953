// Cluster profiles: how to reach a Slurm cluster (here, or over ssh with a key file), what each
// job asks for, and the shared folder runs are written to. Saving checks the cluster first.
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorNote } from '../../components/ErrorNote.js';
import { useClusters, type ProfileInput } from './clusters-store.js';

const fields = [
  ['name', 'Name', 'gpu-cluster'],
  ['sharedDir', 'Shared folder', '/shared/whetstone-runs'],
  ['host', 'SSH host (empty: Slurm is on this machine)', 'login.cluster.example'],
  ['user', 'SSH user', ''],
  ['key', 'SSH key file', '~/.ssh/id_ed25519 (absolute path)'],
  ['partition', 'Partition', 'gpu'],
  ['account', 'Account', ''],
  ['time', 'Time limit', '01:00:00'],
  ['cpus', 'CPUs', '1'],
  ['gpus', 'GPUs', '0'],
  ['engine', 'whetstone on the nodes', 'whetstone'],
] as const;

type Form = Record<(typeof fields)[number][0], string>;

const empty = Object.fromEntries(fields.map(([k]) => [k, ''])) as Form;

/** The form as a profile: empty fields left out, numbers as numbers. */
export function toProfile(form: Form): ProfileInput {
  const text = (v: string) => (v.trim() === '' ? undefined : v.trim());
  const num = (v: string) => (v.trim() === '' ? undefined : Number(v));
  const host = text(form.host);
  return {
    name: form.name.trim(),
    sharedDir: form.sharedDir.trim(),
    ...(host && {
      ssh: {
        host,
        ...(text(form.user) && { user: text(form.user) }),
        ...(text(form.key) && { key: text(form.key) }),
      },
    }),
    ...(text(form.partition) && { partition: text(form.partition) }),
    ...(text(form.account) && { account: text(form.account) }),
    ...(text(form.time) && { time: text(form.time) }),
    ...(num(form.cpus) !== undefined && { cpus: num(form.cpus) }),
    ...(num(form.gpus) !== undefined && { gpus: num(form.gpus) }),
    ...(text(form.engine) && { engine: text(form.engine) }),
  } as ProfileInput;
}

export function ClustersPanel() {
  const c = useClusters();
  const [form, setForm] = useState<Form>(empty);
  useEffect(() => void useClusters.getState().load(), []);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await c.save(toProfile(form))) setForm(empty);
  };
  return (
    <details className="clusters">
      <summary>Cluster profiles (Slurm)</summary>
      {c.list.length > 0 && (
        <ul aria-label="Cluster profiles">
          {c.list.map((p) => (
            <li key={p.name}>
              <span className="mono">{p.name}</span>: {p.ssh ? `ssh ${p.ssh.host}` : 'this machine'}
              , {p.partition ?? 'default partition'}, {p.time}, runs in{' '}
              <span className="mono">{p.sharedDir}</span>{' '}
              <button type="button" onClick={() => void c.remove(p.name)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={(e) => void submit(e)} aria-label="Add a cluster profile">
        {fields.map(([key, label, placeholder]) => (
          <label key={key}>
            {label}
            <input
              value={form[key]}
              placeholder={placeholder}
              onChange={(e) => setForm({ ...form, [key]: e.target.value })}
            />
          </label>
        ))}
        <button type="submit" disabled={c.saving || form.name === '' || form.sharedDir === ''}>
          {c.saving ? 'Checking the cluster…' : 'Check and save'}
        </button>
      </form>
      {c.error && <ErrorNote error={c.error} />}
    </details>
  );
}
