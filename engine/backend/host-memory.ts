// Host memory as the fit rule reads it: what the OS can still hand out (Linux's MemAvailable,
// which counts reclaimable page cache, unlike os.freemem) and what this process holds already.
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import type { HostMemory } from './fit.js';

/** MemAvailable from /proc/meminfo's text, in bytes (undefined when absent). */
export function parseMemAvailable(meminfo: string): number | undefined {
  const match = /^MemAvailable:\s+(\d+)\s+kB/m.exec(meminfo);
  return match ? Number(match[1]) * 1024 : undefined;
}

export function readHostMemory(): HostMemory {
  let available: number | undefined;
  try {
    available = parseMemAvailable(readFileSync('/proc/meminfo', 'utf8'));
  } catch {
    // Not Linux: os.freemem is the closest figure (macOS and Windows report available memory).
  }
  return { availableBytes: available ?? freemem(), rssBytes: process.memoryUsage.rss() };
}
