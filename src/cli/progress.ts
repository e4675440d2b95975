import type { Writable } from 'node:stream';
import { ErrorCode } from '../../protocol/index.js';
import type { SyncEvent } from '../client/sync-report.js';
import { formatSize } from './parse-size.js';
import { printable } from './printable.js';

/** Speed and ETA are averaged over this much recent time. */
const SPEED_WINDOW_MS = 5000;
/** Below this much history a speed would be noise: none is shown yet. */
const MIN_SPEED_SPAN_MS = 500;
/** Time between redraws: fast enough to look live, slow enough to cost nothing. */
export const PROGRESS_INTERVAL_MS = 150;

/** What the display shows at one moment. */
export interface ProgressSnapshot {
  /** Share of the work done, 0 to 1; it never goes down, even across a session restart. */
  fraction: number;
  /** The whole source is listed: the totals are final (before, they are "at least"). */
  listed: boolean;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Bytes sent per second lately, or undefined while there is too little history. */
  speed: number | undefined;
  /** Seconds left, or undefined when nothing moved lately. */
  eta: number | undefined;
  /** The file last heard of. */
  current: string;
  /** What the connection is doing when it is not simply up: `connecting to …`, `reconnecting …`. */
  status: string | undefined;
}

interface Sample {
  time: number;
  sent: number;
  fraction: number;
}

/** Paths finished lately: enough to recognise a warning that follows its file's event. */
const RECENT_PATHS = 4096;

/**
 * Progress as the sync events tell it. Bytes done are bytes sent plus bytes of finished files
 * that were already in place, so that a delta sync moves the way a full copy does. Files done
 * are finished files plus failed ones. The sync works while it lists the source: the totals
 * grow until the listing is complete, and only then is there a share to show and an ETA.
 */
export class ProgressModel {
  readonly #now: () => number;
  #planned = false;
  #listed = false;
  #filesTotal = 0;
  #bytesTotal = 0;
  #filesDone = 0;
  #bytesDone = 0;
  /** Paths counted as done lately, so that a warning after a file event is not counted twice. */
  #recent = new Set<string>();
  /** Bytes of files still in progress already counted as found in place (`matched` events). */
  readonly #matched = new Map<string, number>();
  #fraction = 0;
  /** Bytes sent since the start, across sessions: speed is about the wire. */
  #sent = 0;
  #samples: Sample[] = [];
  #current = '';
  #status: string | undefined;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** True once some of the source is listed. */
  get planned(): boolean {
    return this.#planned;
  }

  /** True when the whole source is listed and every file is done (or failed). */
  get complete(): boolean {
    return this.#listed && this.#filesDone >= this.#filesTotal;
  }

  update(event: SyncEvent): void {
    switch (event.type) {
      case 'connecting':
        this.#status = `connecting to ${event.server}`;
        // A new session lists and compares again: files already copied come back as up to date.
        if (this.#planned) this.#restart();
        return;
      case 'retry':
        this.#status = `${event.phase === 'connect' ? 'connecting' : 'reconnecting'} (retry ${event.retry} of ${event.retries} in ${Math.ceil(event.waitMs / 1000)}s)`;
        return;
      case 'lost':
        if (event.lanes === event.total) this.#status = 'reconnecting';
        return;
      case 'connected':
      case 'reconnected':
        this.#status = undefined;
        return;
      case 'plan':
        if (!this.#planned) this.sample();
        this.#planned = true;
        this.#listed = event.complete;
        this.#filesTotal = event.files;
        this.#bytesTotal = event.bytes;
        break;
      case 'uptodate':
        this.#filesDone += event.files;
        this.#bytesDone += event.bytes;
        break;
      case 'chunk':
        this.#sent += event.length;
        this.#bytesDone += event.length;
        this.#current = event.path;
        break;
      case 'matched':
        this.#matched.set(event.path, (this.#matched.get(event.path) ?? 0) + event.bytes);
        this.#bytesDone += event.bytes;
        this.#current = event.path;
        break;
      case 'file':
        this.#finish(event.path);
        this.#bytesDone += Math.max(0, event.size - event.bytesSent - (this.#matched.get(event.path) ?? 0));
        this.#matched.delete(event.path);
        this.#current = event.path;
        break;
      case 'error':
        if (event.path !== undefined) this.#finish(event.path);
        if (event.path !== undefined) this.#matched.delete(event.path);
        break;
      case 'warning':
        // A file that vanished before it was read ends with this warning and no file event.
        if (event.code === ErrorCode.SOURCE_CHANGED && event.path !== undefined) this.#finish(event.path);
        break;
      default:
        return;
    }
    this.#fraction = Math.max(this.#fraction, this.#rawFraction());
  }

  #restart(): void {
    this.#listed = false;
    this.#filesDone = 0;
    this.#bytesDone = 0;
    this.#recent.clear();
    this.#matched.clear();
  }

  /** Records the counters now: speed and ETA compare the present with the oldest sample kept. */
  sample(): void {
    const time = this.#now();
    this.#samples.push({ time, sent: this.#sent, fraction: this.#fraction });
    // Keep one sample at or before the window's start, so the average spans the whole window.
    while (this.#samples.length > 1 && this.#samples[1]!.time <= time - SPEED_WINDOW_MS) this.#samples.shift();
  }

  snapshot(): ProgressSnapshot {
    const now = this.#now();
    const first = this.#samples[0];
    const span = first === undefined ? 0 : now - first.time;
    const recent = first !== undefined && span >= MIN_SPEED_SPAN_MS;
    const speed = recent ? ((this.#sent - first.sent) * 1000) / span : undefined;
    // ETA from how fast the fraction moves, not the wire speed: bytes found in place count too.
    const rate = recent ? ((this.#fraction - first.fraction) * 1000) / span : 0;
    const eta = this.complete ? 0 : rate > 0 ? (1 - this.#fraction) / rate : undefined;
    return {
      fraction: this.#fraction,
      listed: this.#listed,
      bytesDone: Math.min(this.#bytesTotal, Math.max(this.#bytesDone, Math.floor(this.#fraction * this.#bytesTotal))),
      bytesTotal: this.#bytesTotal,
      filesDone: Math.min(this.#filesDone, this.#filesTotal),
      filesTotal: this.#filesTotal,
      speed,
      eta,
      current: this.#current,
      status: this.#status,
    };
  }

  #finish(path: string): void {
    if (this.#recent.has(path)) return;
    this.#recent.add(path);
    if (this.#recent.size > RECENT_PATHS) this.#recent.delete(this.#recent.values().next().value!);
    this.#filesDone++;
  }

  #rawFraction(): number {
    if (!this.#listed) return 0;
    const files = this.#filesTotal === 0 ? 1 : Math.min(1, this.#filesDone / this.#filesTotal);
    const bytes = this.#bytesTotal === 0 ? files : Math.min(1, this.#bytesDone / this.#bytesTotal);
    // 100% means finished: all bytes in place but a file not yet committed is 99%.
    return files < 1 ? Math.min(bytes, 0.999) : bytes;
  }
}

/**
 * The display's lines, each cut to fit `columns` minus one (a line that fills the last column
 * wraps on some terminals, and the redraw would then erase the wrong lines):
 *
 *    42%  420.5 MiB / 1.00 GiB  12/300 files  85.3 MiB/s  ETA 0:07
 *   photos/2023/IMG_0042.jpg
 */
export function renderProgress(snapshot: ProgressSnapshot, columns: number, planned = true): string[] {
  const width = Math.max(1, columns - 1);
  // Before the first listing there are no numbers to show, only what the connection does.
  if (!planned) return snapshot.status === undefined ? [] : [printable(snapshot.status).slice(0, width)];
  // While the source is still being listed the totals only grow: "at least", no share, no ETA.
  const percent = snapshot.listed ? `${Math.floor(snapshot.fraction * 100)}%`.padStart(4) : ' --%';
  const atLeast = snapshot.listed ? '' : '≥ ';
  const speed = snapshot.speed === undefined ? '--' : `${formatSize(Math.round(snapshot.speed))}/s`;
  const stats =
    `${percent}  ${formatSize(snapshot.bytesDone)} / ${atLeast}${formatSize(snapshot.bytesTotal)}` +
    `  ${snapshot.filesDone}/${atLeast}${snapshot.filesTotal} files  ${speed}  ETA ${formatEta(snapshot.listed ? snapshot.eta : undefined)}`;
  const second = snapshot.status === undefined ? fitPath(snapshot.current, width) : printable(snapshot.status).slice(0, width);
  return [stats.slice(0, width), second];
}

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const total = Math.min(Math.ceil(seconds), 100 * 3600 - 1);
  const s = String(total % 60).padStart(2, '0');
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * A path made safe for the terminal as in the log lines (see printable) and cut from the left
 * to `width` columns, so the file name stays visible.
 */
function fitPath(path: string, width: number): string {
  const chars = [...printable(path)];
  let used = 0;
  for (const char of chars) used += charWidth(char);
  if (used <= width) return chars.join('');
  let start = chars.length;
  used = 1; // the ellipsis
  while (start > 0 && used + charWidth(chars[start - 1]!) <= width) used += charWidth(chars[--start]!);
  return `…${chars.slice(start).join('')}`;
}

/** Terminal columns of one code point: wide East Asian and emoji take two, combining marks none. */
function charWidth(char: string): number {
  const cp = char.codePointAt(0)!;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x20d0 && cp <= 0x20ff)) return 0;
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd);
  return wide ? 2 : 1;
}

export interface ProgressDisplayOptions {
  /** Where the lines are drawn (stderr); its `columns` is read at each draw, so resizes follow. */
  stream: Writable & { columns?: number };
  now?: () => number;
  /** Milliseconds between redraws. */
  interval?: number;
}

/**
 * The live progress lines on a terminal, redrawn in place: drawn when the totals are known,
 * then on a timer and once more when everything is done. Log lines go through `around`, which
 * lifts the progress lines out of the way and puts them back under the new line.
 */
export class ProgressDisplay {
  readonly #model: ProgressModel;
  readonly #stream: ProgressDisplayOptions['stream'];
  readonly #interval: number;
  #timer: NodeJS.Timeout | undefined;
  /** The last frame drawn, and how many of its lines are on the screen now (0 when lifted). */
  #frame = '';
  #shown = 0;
  #stopped = false;
  // A process.exit() (the second Ctrl-C) skips stop(): still leave a clean line for the shell.
  readonly #onExit = () => this.#erase();

  constructor(options: ProgressDisplayOptions) {
    this.#model = new ProgressModel(options.now);
    this.#stream = options.stream;
    this.#interval = options.interval ?? PROGRESS_INTERVAL_MS;
  }

  event(event: SyncEvent): void {
    if (this.#stopped) return;
    const wasComplete = this.#model.complete;
    this.#model.update(event);
    if ((event.type === 'plan' && this.#timer === undefined) || event.type === 'connecting') {
      if (this.#timer === undefined) {
        // Unref'd: a redraw timer must never keep the process alive.
        this.#timer = setInterval(() => this.#tick(), this.#interval).unref();
        process.on('exit', this.#onExit);
      }
      this.#draw();
    } else if (this.#model.complete && !wasComplete) {
      this.#draw(); // the final state, whatever the timer's phase
    }
  }

  /**
   * Runs `write` (which prints whole lines) with the progress lines lifted, then draws them
   * again, with fresh numbers: the frame is written anyway, so it costs nothing more.
   */
  around(write: () => void): void {
    if (this.#shown === 0) {
      write();
      return;
    }
    this.#erase();
    write();
    this.#draw();
  }

  /** Removes the progress lines for good and stops the timer; idempotent. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    process.off('exit', this.#onExit);
    this.#erase();
  }

  #tick(): void {
    this.#model.sample();
    this.#draw();
  }

  #draw(): void {
    const columns = this.#stream.columns || 80;
    const frame = renderProgress(this.#model.snapshot(), columns, this.#model.planned).join('\n');
    if (frame === '') {
      this.#erase();
      return;
    }
    if (frame === this.#frame && this.#shown > 0) return;
    // One write per frame, erase included, so the terminal never shows half a frame.
    this.#stream.write(this.#eraseSequence() + frame);
    this.#frame = frame;
    this.#shown = frame.split('\n').length;
  }

  #erase(): void {
    if (this.#shown === 0) return;
    this.#stream.write(this.#eraseSequence());
    this.#shown = 0;
  }

  /** From the end of the last progress line: erase each line upwards, ending at column 0. */
  #eraseSequence(): string {
    if (this.#shown === 0) return '';
    return '\r\x1b[2K' + '\x1b[1A\x1b[2K'.repeat(this.#shown - 1);
  }
}
