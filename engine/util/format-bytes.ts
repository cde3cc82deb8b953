// Byte counts for people: B, KiB, MiB, GiB, TiB.
const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * One decimal from KiB up; `precise` gives two from GiB up, so a refusal's 4.21 GiB estimate and
 * 4.00 GiB limit read apart.
 */
export function formatBytes(bytes: number, precise = false): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : precise && unit >= 3 ? 2 : 1)} ${units[unit]}`;
}
