/**
 * Google API error bodies, as Compute Engine sends them: `{ error: { code, message, errors: [{
 * message, domain, reason }] } }`, and the Operation `error` a write that failed carries.
 */

/** A request the emulator refuses synchronously, with the HTTP status and Google's reason. */
export class ComputeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ComputeError';
  }

  body(): object {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ message: this.message, domain: 'global', reason: this.reason }],
      },
    };
  }
}

/** A write accepted but failed while running: the Operation ends DONE with this `error`. */
export class OperationFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'OperationFailure';
  }
}

export const notFound = (path: string) =>
  new ComputeError(404, 'notFound', `The resource '${path}' was not found`);

export const alreadyExists = (path: string) =>
  new ComputeError(409, 'alreadyExists', `The resource '${path}' already exists`);

/** 400 `invalid`, naming the field as GCE does: `Invalid value for field 'resource.name': ...`. */
export const invalidField = (field: string, value: unknown, why: string) =>
  new ComputeError(
    400,
    'invalid',
    `Invalid value for field '${field}': '${typeof value === 'string' ? value : JSON.stringify(value)}'. ${why}`,
  );

export const required = (field: string) =>
  new ComputeError(400, 'required', `Required field '${field}' not specified`);

export const conditionNotMet = (field = 'resource.fingerprint') =>
  new ComputeError(
    412,
    'conditionNotMet',
    `Invalid fingerprint: the ${field} given is not the resource's current fingerprint (it changed since it was read)`,
  );

export const inUse = (path: string, user: string) =>
  new ComputeError(
    400,
    'resourceInUseByAnotherResource',
    `The ${kindOf(path)} resource '${path}' is already being used by '${user}'`,
  );

export const rateLimited = () =>
  new ComputeError(
    403,
    'rateLimitExceeded',
    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'",
  );

function kindOf(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 2] ?? 'resource';
}
