// Numbers written the way the Java broker writes them into its runtime info, so that tools parsing
// them (mqadmin, dashboards) and people comparing with a Java broker see the same text.

/** Double.toString: "0.0", "12.5", "1.0E7", "1.5E-4". */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x); // plain decimal notation in this range
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exp)}`;
}

/**
 * String.format("%.<digits>f"): Java rounds the shortest decimal form of the double half-up
 * (1.005 → "1.01"), where toFixed rounds the exact binary value (→ "1.00").
 */
export function javaFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  const [m, e] = Math.abs(x).toExponential().split('e') as [string, string];
  let ds = m.replace('.', '');
  let point = Number(e) + 1; // digits before the decimal point
  const keep = point + digits;
  if (keep < 0) ds = '0';
  else if (keep < ds.length) {
    const up = ds.charCodeAt(keep) >= 53; // '5'
    ds = ds.slice(0, keep) || '0';
    if (keep === 0) point++; // "0" stands for the digit before the first kept one
    if (up) {
      const n = (BigInt(ds) + 1n).toString().padStart(ds.length, '0');
      if (n.length > ds.length) point++;
      ds = n;
    }
  }
  if (point <= 0) {
    ds = '0'.repeat(1 - point) + ds;
    point = 1;
  }
  ds = ds.padEnd(point + digits, '0');
  const int = ds.slice(0, point);
  const frac = ds.slice(point, point + digits);
  const neg = x < 0 || Object.is(x, -0) ? '-' : ''; // Java keeps the sign: -0.001 → "-0.00"
  return digits > 0 ? `${neg}${int}.${frac}` : `${neg}${int}`;
}

/** MixAll.humanReadableByteCount(bytes, false): "512 B", "1.5 KiB", "49.0 GiB". */
export function humanReadableByteCount(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const exp = Math.trunc(Math.log(bytes) / Math.log(1024));
  return `${javaFixed(bytes / 1024 ** exp, 1)} ${'KMGTPE'[exp - 1]}iB`;
}

/** A long as MessageFormat writes it (grouping with commas). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** StoreStatsService's runtime: "[ 0 days, 1 hours, 2 minutes, 3 seconds ]". */
export function formatRuntime(ms: number): string {
  const day = 86_400_000;
  const days = Math.trunc(ms / day);
  const hours = Math.trunc((ms % day) / 3_600_000);
  const minutes = Math.trunc((ms % 3_600_000) / 60_000);
  const seconds = Math.trunc((ms % 60_000) / 1000);
  return `[ ${grouped(days)} days, ${grouped(hours)} hours, ${grouped(minutes)} minutes, ${grouped(seconds)} seconds ]`;
}
