// KES's typed errors. They travel over HTTP as {error: {code, message}} with their status and are
// rebuilt by the client (lib/kes/client.ts), so a caller sees the same error in-process or remote.
import { AppError } from "../errors";

/** KES cannot be reached (or has no master key): nothing was encrypted, decrypted or written. */
export class KesUnavailableError extends AppError {
  constructor(message: string) {
    super(503, "kes_unavailable", message);
  }
}
/** The key was shredded: what it protected can never be decrypted again. */
export class KeyShreddedError extends AppError {
  constructor(name: string) {
    super(410, "key_shredded", `Key "${name}" was shredded: data encrypted under it can no longer be decrypted.`);
  }
}
/** The key is disabled: no data key is generated or decrypted until it is enabled again. */
export class KeyDisabledError extends AppError {
  constructor(name: string) {
    super(409, "key_disabled", `Key "${name}" is disabled.`);
  }
}
/** A data key wrapped by a version below the key's minDecryptionVersion. */
export class VersionRetiredError extends AppError {
  constructor(name: string, version: number, min: number) {
    super(409, "version_retired", `Key "${name}" version ${version} is below its minDecryptionVersion ${min}: rewrap data before raising it.`, {
      version,
      minDecryptionVersion: min,
    });
  }
}
/** A wrapped data key that does not open: altered, or presented with another encryption context. */
export class DecryptFailedError extends AppError {
  constructor(message: string) {
    super(422, "decrypt_failed", message);
  }
}
