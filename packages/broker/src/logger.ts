// Logging is off by default; pass `logger` in the options to see what the servers do.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string) => void;
export const noopLogger: Logger = () => {};
/** A logger that writes warnings and errors (or everything with `verbose`) to stderr. */
export function consoleLogger(verbose = false): Logger {
  return (level, message) => {
    if (verbose || level === 'warn' || level === 'error') process.stderr.write(`[${level}] ${message}\n`);
  };
}
