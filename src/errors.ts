/**
 * Typed errors with stable codes. Every failure that reaches the user is an RktError: the CLI prints
 * `<command>: <message>` on one line and exits with `exitCode` (254 unless stated otherwise, as rkt).
 */
export type RktErrorCode =
  | 'EUSAGE' // bad flags or arguments
  | 'ENOTROOT' // command needs root
  | 'ECONFIG' // configuration directory or file problem
  | 'EIMAGE_FORMAT' // not an image, corrupt archive, bad layout
  | 'EMANIFEST' // manifest missing or invalid
  | 'ENOTFOUND' // image, pod or file not found
  | 'EAMBIGUOUS' // prefix matches several images or pods
  | 'EEXIST' // output exists (try --overwrite)
  | 'EINSECURE' // operation refused without --insecure-options
  | 'ESTORE' // store / database failure
  | 'EIO' // filesystem error
  | 'EUNSAFE_PATH' // tar entry would escape its root
  | 'EHASH_MISMATCH' // stored bytes do not match their key
  | 'ENATIVE' // the native addon is missing or broken
  | 'ESIGNATURE' // signature missing, malformed, untrusted or not matching the image
  | 'ETRUST' // keystore problem, key review refused or impossible
  | 'EDISCOVERY' // appc meta discovery found nothing usable
  | 'ENETWORK' // HTTP(S) failure: connection, TLS, status code, truncated body
  | 'EUNSUPPORTED'
  | 'EINTERNAL';

export class RktError extends Error {
  readonly code: RktErrorCode;
  readonly exitCode: number;
  constructor(code: RktErrorCode, message: string, opts: { cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RktError';
    this.code = code;
    this.exitCode = opts.exitCode ?? 254;
  }
}

export function isRktError(e: unknown): e is RktError {
  return e instanceof RktError;
}

/** One line for the user: rkt appends only the innermost cause unless --debug. */
export function describeError(e: unknown, debug = false): string {
  if (e instanceof Error) {
    let msg = e.message;
    if (debug) {
      let c = (e as { cause?: unknown }).cause;
      while (c instanceof Error) {
        msg += `\n  └─${c.message}`;
        c = (c as { cause?: unknown }).cause;
      }
    }
    return msg.replace(/\n(?!  \u2514\u2500)/g, ' ');
  }
  return String(e);
}
