// Write a folder all at once: everything goes into a temporary sibling that is renamed into place
// only when complete, so a crash never leaves a half-written export where a user would load it.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { WhetstoneError } from '../errors.js';

export async function writeFolderAtomic<T>(
  outDir: string,
  force: boolean,
  fill: (temp: string) => Promise<T>,
): Promise<T> {
  const exists = await stat(outDir).then(
    () => true,
    () => false,
  );
  if (exists && !force) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${outDir} already exists.`,
      'Choose another --out folder, or pass --force to replace it.',
    );
  }
  const temp = `${outDir}.partial-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    const result = await fill(temp);
    if (exists) await rm(outDir, { recursive: true, force: true });
    await rename(temp, outDir);
    return result;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}
