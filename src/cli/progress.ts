/**
 * A progress bar (cli-progress) on stderr for long batch commands, drawn only when stderr is a terminal and
 * `--json` is off; otherwise every call is a no-op, so logs and pipes stay clean.
 */
import { Writable } from 'node:stream';
import { Presets, SingleBar } from 'cli-progress';
import type { CliContext } from './command.js';

export interface Progress {
  /** One more item done; `label` names it (e.g. the tenant). Never pass a secret. */
  tick: (label?: string) => void;
  stop: () => void;
}

const NONE: Progress = { tick: () => undefined, stop: () => undefined };

/** A terminal-like stream writing to the context's stderr (cli-progress needs `isTTY` and `columns`). */
function ttyStream(ctx: CliContext): Writable {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      ctx.stderr(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      cb();
    },
  });
  return Object.assign(w, { isTTY: true, columns: Number(ctx.env.COLUMNS) || 80 });
}

export function createProgress(ctx: CliContext, total: number, what: string): Progress {
  if (!ctx.isTTY || ctx.json || total === 0) return NONE;
  const bar = new SingleBar(
    { stream: ttyStream(ctx), format: `${what} [{bar}] {value}/{total} {label}`, hideCursor: true, clearOnComplete: false, fps: 10 },
    Presets.shades_classic,
  );
  bar.start(total, 0, { label: '' });
  return {
    tick: (label = '') => bar.increment(1, { label }),
    stop: () => bar.stop(),
  };
}

export interface ByteProgress {
  /** Bytes done of `total`; the bar starts on the first call. */
  update: (done: number, total: number) => void;
  stop: () => void;
}

const MIB = 1024 * 1024;

/** A byte-count bar (MiB) for one long step, on a terminal only; a no-op otherwise. */
export function createByteProgress(ctx: CliContext, what: string): ByteProgress {
  if (!ctx.isTTY || ctx.json) return { update: () => undefined, stop: () => undefined };
  let bar: SingleBar | undefined;
  return {
    update: (done, total) => {
      if (!bar) {
        bar = new SingleBar(
          { stream: ttyStream(ctx), format: `${what} [{bar}] {percentage}% {doneMiB}/{totalMiB} MiB`, hideCursor: true, clearOnComplete: false, fps: 10 },
          Presets.shades_classic,
        );
        bar.start(total, 0, { doneMiB: '0.0', totalMiB: (total / MIB).toFixed(1) });
      }
      bar.update(done, { doneMiB: (done / MIB).toFixed(1), totalMiB: (total / MIB).toFixed(1) });
    },
    stop: () => bar?.stop(),
  };
}
