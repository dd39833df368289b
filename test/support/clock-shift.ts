// Preloaded into a gateway child (`node --import <this, compiled> …`) to make
// its wall clock jump, as an NTP step or an RTC fixed by hand does: Date.now()
// and new Date() are shifted by the offset (ms) written in the file named by
// STOREGW_CLOCK_SHIFT_FILE, re-read every 50 ms, so a test can move the clock
// of the running process back or forth. The monotonic clocks
// (performance.now(), process.hrtime, and the timers built on them) are left
// alone, as a real wall-clock step leaves them. Debian's faketime (libfaketime)
// would do the same at the libc level; it is not installed by .ci/run, and
// the gateway reads the time only through these JavaScript clocks.
import { readFileSync } from 'node:fs';

const file = process.env.STOREGW_CLOCK_SHIFT_FILE;
if (file) {
  const RealDate = Date;
  let offset = 0;
  const read = () => {
    try {
      const v = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(v)) offset = v;
    } catch {
      /* no file yet: no shift */
    }
  };
  read();
  setInterval(read, 50).unref();
  const now = () => RealDate.now() + offset;
  // A function, not a class: Date() called without new returns a string.
  const ShiftedDate = function (this: unknown, ...args: unknown[]) {
    if (!new.target) return new RealDate(now()).toString();
    return args.length === 0 ? new RealDate(now()) : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
  } as unknown as DateConstructor;
  Object.setPrototypeOf(ShiftedDate, RealDate);
  Object.defineProperty(ShiftedDate, 'prototype', { value: RealDate.prototype });
  Object.defineProperty(ShiftedDate, 'now', { value: now, writable: true, configurable: true });
  globalThis.Date = ShiftedDate;
}
