// Levelled logger for the engine. Writes to stderr so that stdout stays clean for JSON lines.
// Level from WHETSTONE_LOG_LEVEL (error | warn | info | debug), default info.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const order: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type LogSink = (level: LogLevel, scope: string, message: string) => void;

let threshold: LogLevel = parseLevel(process.env.WHETSTONE_LOG_LEVEL) ?? 'info';
let sink: LogSink = (level, scope, message) => {
  process.stderr.write(`[${level}] ${scope}: ${message}\n`);
};

function parseLevel(value: string | undefined): LogLevel | undefined {
  return value !== undefined && value in order ? (value as LogLevel) : undefined;
}

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Redirect log lines (a host may forward them as protocol events). Returns the previous sink. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export function createLogger(scope: string): Logger {
  const emit = (level: LogLevel) => (message: string) => {
    if (order[level] <= order[threshold]) sink(level, scope, message);
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug') };
}
